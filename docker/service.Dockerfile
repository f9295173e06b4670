# The queue-callback service (FastAGI server + AMI client): `agi-callback serve`.
#
# Build from the repo root:
#   docker build -f docker/service.Dockerfile -t agi-callback-service .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /src
# README* is optional (copied in case pyproject.toml names it as the readme).
COPY pyproject.toml README* ./
COPY agi_app ./agi_app
RUN pip install ".[postgresql]" \
 && useradd --system --home-dir /var/lib/agi-callback --shell /usr/sbin/nologin agi-callback \
 && install -d -o agi-callback -g agi-callback /var/lib/agi-callback

# Settings, all overridable at run time (docker/compose.yaml, docker run -e).
# CALLBACK_AMI_USERNAME and CALLBACK_AMI_SECRET must match asterisk_conf/
# manager.conf; pass them at run time (compose reads docker/.env) rather than
# baking a secret into the image.
ENV CALLBACK_STORE_PATH=/var/lib/agi-callback/callbacks.sqlite3 \
    CALLBACK_AGI_HOST=127.0.0.1 \
    CALLBACK_AGI_PORT=4573 \
    CALLBACK_AMI_HOST=127.0.0.1 \
    CALLBACK_AMI_PORT=5038

# The callback store (SQLite) lives here; mount a volume so it survives
# container restarts and upgrades.
VOLUME ["/var/lib/agi-callback"]

USER agi-callback
WORKDIR /var/lib/agi-callback
EXPOSE 4573/tcp

CMD ["agi-callback", "serve"]
