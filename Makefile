# Every target installs what it needs, so a bare Debian 12 machine (or CI) can run it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# SIPp for the phones, debootstrap for the sandbox root, Chromium for the browser test,
# baresip (a real softphone agent), espeak-ng and sox (prompts for the RTP matcher tests),
# postgresql (a throwaway server for the store contract tests on PostgreSQL), systemd and
# procps (systemd-analyze verify checks the shipped unit and its /bin/kill).
APT_PACKAGES := sip-tester debootstrap chromium baresip espeak-ng sox postgresql systemd procps
STAMP := $(VENV)/.installed

.PHONY: run demo bench serve docs wheel screenshots test test-unit test-integration test-acceptance test-acceptance-pg load trials lint deps sandbox-up sandbox-down sounds clean

run: deps sandbox-up serve

# The AMI secret comes from the sandbox's cache unless CALLBACK_AMI_SECRET(_FILE) is set.
# Without a settings file, the test bed's fictional +1555 customers are let through the
# destination policy (they belong to no region; see docs/how-to/destination-policy.md).
serve: $(STAMP)
	@if [ -z "$$CALLBACK_AMI_SECRET$$CALLBACK_AMI_SECRET_FILE" ]; then \
		export CALLBACK_AMI_SECRET_FILE=$$(docker/sandbox secret callback); fi; \
	if [ ! -e "$${CALLBACK_CONFIG:-callback.toml}" ] && [ -z "$$CALLBACK_ALLOWED_NUMBER_PREFIXES" ]; then \
		export CALLBACK_ALLOWED_NUMBER_PREFIXES='["+1555"]'; fi; \
	exec $(VENV)/bin/agi-callback serve

# Parallel workers for make test (each its own pair of Asterisks, tests/support/testbed.py):
# the tiers mostly wait on real time, not on the 2 cores (docs/explanation/tests.md has the measurement).
WORKERS ?= 5
PYTEST_PARALLEL := $(PY) -m pytest -q -n $(WORKERS) --dist worksteal --durations=15

# Two phases: every tier in parallel workers, then the CPU-heavy smokes (benchmarks, trials;
# marked serial) alone, so that they neither slow the others nor get slowed into failing.
# The bounded load run has its own target (make load).
test: deps lint sandbox-up
	$(PYTEST_PARALLEL) -m 'not load and not serial' tests
	$(PY) -m pytest -q --durations=5 -m serial tests

test-unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

test-integration: deps
	$(PY) -m pytest -q tests/integration

test-acceptance: deps sandbox-up
	$(PYTEST_PARALLEL) -m 'not load and not serial' tests/acceptance
	$(PY) -m pytest -q -m serial tests/acceptance

# The acceptance tier on PostgreSQL alone (make test runs it on both stores).
test-acceptance-pg: deps sandbox-up
	CALLBACK_TEST_STORE=postgres $(PYTEST_PARALLEL) -m 'not load and not serial' tests/acceptance

# A full callback played by SIPp phones, its timeline printed live; then the Live view.
demo: deps sandbox-up
	CALLBACK_AMI_SECRET_FILE=$$(docker/sandbox secret callback) $(PY) -m tests.demo

# The benchmarks of BENCHMARKS.md (several minutes; they use the sandbox alone).
bench: deps sandbox-up
	$(PY) -m tests.bench.fastagi_bench
	$(PY) -m tests.bench.sip_bench
	$(PY) -m tests.bench.scale_bench
	$(PY) -m tests.bench.sse_bench --before
	$(PY) -m tests.bench.takeover_bench
	$(PY) -m tests.bench.profile_bench --rates 40,80,120,160,200,300,400
	$(PY) -m tests.bench.busy_bench

# 200 callers pressing 1 within one minute (about 90 s).
load: deps sandbox-up
	$(PY) -m pytest -q -m load tests/acceptance

# Randomized trials: callers, callbacks and faults drawn from seeds, each checked for lost,
# doubled and out-of-order calls (a failing seed reruns with `$(PY) -m tests.trials --seed S`).
trials: deps sandbox-up
	$(PY) -m tests.trials --trials 100 --minutes 40

# Addresses of the test bed live in tests/support/testbed.py alone: one written anywhere
# else in the tiers that use the bed would pin a test to one worker's Asterisk.
BED_USERS := tests/acceptance tests/support tests/bench tests/trials tests/demo.py

# The wheel an admin installs (dist/agi_callback-<version>-py3-none-any.whl): the package is
# not on a package index. Built in an isolated environment from pyproject.toml (build/ is
# removed first: setuptools would otherwise pack a module deleted since the last build).
wheel: $(STAMP)
	rm -rf build
	$(PY) -m build --wheel --outdir dist .

# The site's screenshots (docs/*.png) taken again by the browser tests that take them
# (SITE_SHOTS in tests/acceptance/web.py), so they show what the product shows; commit them.
screenshots: deps sandbox-up
	CALLBACK_SCREENSHOTS=docs CALLBACK_TEST_STORE=sqlite $(PY) -m pytest -q \
		tests/acceptance/test_live.py tests/acceptance/test_supervisor_screen.py

# The documentation site (mkdocs.yml) into site/: the generated reference rewritten from the
# code first (docs/reference.py, docs/modules.py; commit what changed), then built strictly.
docs: $(STAMP)
	$(PY) docs/modules.py
	$(PY) docs/reference.py
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

lint: $(STAMP)
	$(VENV)/bin/ruff check --no-cache agi_app tests
	$(VENV)/bin/ruff format --no-cache --check agi_app tests
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache
	@out=$$(mktemp -d) && NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir $$out; rc=$$?; rm -rf $$out; exit $$rc
	@if grep -rn 'asyncio\.wait_for' agi_app; then \
		echo "lint: asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancellation"; \
		echo "      that comes as what it awaits completes, and a stop then never ends"; exit 1; fi
	@if grep -rnE '127\.0\.0\.[0-9]' --include='*.py' --include='*.xml' $(BED_USERS) \
		| grep -v '^tests/support/testbed\.py:'; then \
		echo "lint: a test bed address written outside tests/support/testbed.py (use it)"; exit 1; fi

deps: $(STAMP)
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

sandbox-up: deps
	docker/sandbox up

# Every instance: the first, and those parallel workers started (each stops its own when done).
sandbox-down:
	docker/sandbox down-all

# Regenerate the prompts (needs espeak-ng and sox; the results are committed).
sounds:
	sounds/generate

clean: sandbox-down
	rm -rf $(VENV) var test-artifacts
