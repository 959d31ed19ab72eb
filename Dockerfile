# syntax=docker/dockerfile:1
# One image for every photobus service, built from the repo root with the uv lock.
# The command picks the service:  docker run photobus python -m photobus_thumbnailer
# (the default is ingest; SERVICE=status at build time changes the default).
#   docker build -t photobus .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: resolve the locked dependencies into /app/.venv -------------------------
FROM ${PYTHON_IMAGE} AS builder
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
COPY . .
# The root project depends on every service; --no-dev leaves the test tools out and
# --no-editable installs the workspace packages themselves, so no source is needed later.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable

# --- runtime: the venv and nothing else ----------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE=ingest
RUN groupadd --system --gid 10001 photobus \
    && useradd --system --uid 10001 --gid photobus --home-dir /app --shell /usr/sbin/nologin photobus
COPY --from=builder --chown=root:root /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PHOTOBUS_BIND_HOST=0.0.0.0 \
    PHOTOBUS_SERVICE=${SERVICE}
WORKDIR /app
USER 10001:10001
EXPOSE 8080 8081 8090 8091 8092 8093
# exec: the service is PID 1's only child, so SIGTERM reaches it and shutdown is graceful.
CMD ["/bin/sh", "-c", "exec python -m \"photobus_$(echo \"$PHOTOBUS_SERVICE\" | tr - _)\""]
