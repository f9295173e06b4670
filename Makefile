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

.PHONY: run demo bench serve test test-unit test-integration test-acceptance test-acceptance-pg load trials lint deps sandbox-up sandbox-down sounds clean

run: deps sandbox-up serve

# The AMI secret comes from the sandbox's cache unless CALLBACK_AMI_SECRET(_FILE) is set.
# Without a settings file, the test bed's fictional +1555 customers are let through the
# destination policy (they belong to no region; see README "Destination policy").
serve: $(STAMP)
	@if [ -z "$$CALLBACK_AMI_SECRET$$CALLBACK_AMI_SECRET_FILE" ]; then \
		export CALLBACK_AMI_SECRET_FILE=$$(docker/sandbox secret callback); fi; \
	if [ ! -e "$${CALLBACK_CONFIG:-callback.toml}" ] && [ -z "$$CALLBACK_ALLOWED_NUMBER_PREFIXES" ]; then \
		export CALLBACK_ALLOWED_NUMBER_PREFIXES='["+1555"]'; fi; \
	exec $(VENV)/bin/agi-callback serve

# The bounded load run has its own target (make load), to keep make test under 30 minutes.
test: deps lint sandbox-up
	$(PY) -m pytest -q --durations=15 -m 'not load' tests

test-unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

test-integration: deps
	$(PY) -m pytest -q tests/integration

test-acceptance: deps sandbox-up
	$(PY) -m pytest -q tests/acceptance

# The whole acceptance tier on PostgreSQL (a throwaway cluster). make test
# runs the modules marked both_stores on each store, and the standby tests on PostgreSQL.
test-acceptance-pg: deps sandbox-up
	CALLBACK_TEST_STORE=postgres $(PY) -m pytest -q tests/acceptance

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

lint: $(STAMP)
	$(VENV)/bin/ruff check agi_app tests
	$(VENV)/bin/ruff format --check agi_app tests
	$(VENV)/bin/mypy

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

# Both instances: the second (127.0.0.2) is up only while tests that use it run.
sandbox-down:
	docker/sandbox down
	CALLBACK_SANDBOX_INSTANCE=2 docker/sandbox down

# Regenerate the prompts (needs espeak-ng and sox; the results are committed).
sounds:
	sounds/generate

clean: sandbox-down
	rm -rf $(VENV) var test-artifacts
