# syntax=docker/dockerfile:1
# The gateway (production: no mocks, no dev tools, non-root, healthcheck on /livez):
#   docker build -t espace-client-gateway .
# The four mocks, for compose.yaml and demos:
#   docker build --target mocks -t espace-client-mocks .
# PYTHON_IMAGE may name a mirror of the same base (a registry the build machine can reach).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# 1. the project's wheel: gateway, mocks, GraphiQL's files, the mocks' fixtures and contracts
FROM ${PYTHON_IMAGE} AS wheel
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml ./
COPY contracts/ contracts/
COPY fixtures/ fixtures/
COPY mocks/ mocks/
COPY gateway/ gateway/
RUN python -m pip wheel --no-deps --wheel-dir /wheels .

# 2. virtual environments: the base install (what production runs), and with the [mocks] extra;
#    the base image's pip installs into them, so they carry no pip or setuptools of their own
FROM ${PYTHON_IMAGE} AS venv
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY --from=wheel /wheels /wheels
RUN python -m venv --without-pip /opt/venv \
 && python -m pip --python /opt/venv/bin/python install /wheels/espace_client_gateway-*.whl

FROM venv AS venv-mocks
RUN python -m pip --python /opt/venv/bin/python install \
      "$(ls /wheels/espace_client_gateway-*.whl)[mocks]"

# 3. runtime: the slim base, an unprivileged user, no compiler, no pip cache, no sources
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
WORKDIR /tmp
USER 10001:10001

FROM runtime AS mocks
COPY --from=venv-mocks /opt/venv /opt/venv
EXPOSE 9001 9002 9003 9004
CMD ["python", "-m", "mocks", "all", "--host", "0.0.0.0"]

# the default target: the gateway
FROM runtime AS gateway
COPY --from=venv /opt/venv /opt/venv
ENV GATEWAY_ENV=production \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8000 \
    WEB_CONCURRENCY=2
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:%s/livez' % os.environ.get('GATEWAY_PORT', '8000'), timeout=2).status != 200)"]
CMD ["python", "-m", "gateway", "serve"]
