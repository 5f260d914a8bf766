# The self-hosted runtime (`python -m local`): the same handlers and template.yaml as on AWS, with
# the runtime dependencies of local/requirements.lock only (no test tools, no embedded PostgreSQL).
# Python is the Lambda runtime's (template.yaml), so the image runs what the layer runs.

# Stage 1: the locked dependencies, hash-checked, into a venv the runtime stage copies whole.
FROM python:3.14-slim AS dependencies
WORKDIR /build
COPY local/requirements.lock local/requirements.lock
RUN python -m venv --without-pip /opt/venv \
    && python -m pip --python /opt/venv/bin/python install --no-cache-dir --disable-pip-version-check \
        --require-hashes --only-binary=:all: -r local/requirements.lock

# Stage 2: the runtime, without pip's caches or the build stage's files, as an unprivileged user.
FROM python:3.14-slim
RUN groupadd --system --gid 10001 platform \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin platform \
    && install -d -o platform -g platform /var/lib/trigger-platform
COPY --from=dependencies /opt/venv /opt/venv
WORKDIR /app
COPY template.yaml ./
COPY functions functions
COPY layers/core/trigger_platform layers/core/trigger_platform
COPY local local
# Bytecode compiled at build time: the runtime user cannot write it, and workers start faster with it.
RUN python -m compileall -q /app
ENV PATH=/opt/venv/bin:$PATH PYTHONPATH=/app/layers/core:/app PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 PORT=3000 LOCAL_DATA_DIR=/var/lib/trigger-platform
USER 10001:10001
EXPOSE 3000
# GET http://127.0.0.1:${PORT}/health with urllib (the slim image has no curl); a 503 (PostgreSQL
# down) raises, so the container is unhealthy.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['PORT'] + '/health', timeout=2)"]
CMD ["python", "-m", "local"]
