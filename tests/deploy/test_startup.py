"""The gateway starts the way it is shipped: from the rendered Kubernetes manifests, and from the
built wheel installed in a fresh virtualenv.

* The manifests: `deploy/` is rendered by kustomize (`kubectl kustomize`, or the kustomization's
  resources read here when kubectl is absent); the gateway Deployment's container command, and
  its environment resolved as the kubelet does (`envFrom` in order, then `env` with
  `valueFrom`), start the gateway as a subprocess. Only what must point at the test world is
  overridden: the back-ends' URLs (the mocks as processes, over real HTTP, holding the Secret's
  credentials as the real systems would), Redis (a real redis-server), the port, and an empty
  writable directory standing for the pod's `/tmp` volume (`PROMETHEUS_MULTIPROC_DIR` inside it,
  not created). The Secret's private-key placeholder is replaced by a real key, as a platform
  team must. Then `/livez`, `/readyz` and a signed-in customer's HomePage (persisted-only, as
  configured).
* The wheel: built with pip, installed with `--no-deps` into a fresh venv whose dependencies come
  from the project's virtualenv (a `.pth` line, no network), started as `python -m gateway serve`
  from outside the checkout with the in-process mocks (`[mocks]`), checked the same way.

The processes start together and the wheel builds while the pod starts: the module costs about
30 s of CPU in all (eight interpreters starting, the wheel's build), its wall time is that of the
slowest start-up where cores are free.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.identity.tokens import TokenVerifier
from gateway.settings import Settings
from mocks.processes import ROOT, SYSTEMS, free_port
from tests.support.gateway import PERSONAS, fixture, operation
from tests.support.redis import REDIS_MISSING, redis_server

DEPLOY = ROOT / "deploy"
START_TIMEOUT_S = 120  # a loaded CI machine; an idle one starts in a few seconds
URL_VARIABLES = {system: system.upper().replace("-", "_") + "_URL" for system in SYSTEMS}
CREDENTIALS = (
    "POLICY_ADMIN_API_KEY",
    "CLAIMS_USER",
    "CLAIMS_PASSWORD",
    "EDITIQUE_USER",
    "EDITIQUE_PASSWORD",
    "CRM_TOKEN",
)


# ---- the manifests, as kustomize renders them --------------------------------------------------


def render() -> list[dict[str, Any]]:
    """`kubectl kustomize deploy/`, or `render_in_python` when kubectl is not installed."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return render_in_python()
    done = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def render_in_python() -> list[dict[str, Any]]:
    """The kustomization's resources with its images and labels applied: what this base uses of
    kustomize."""
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text("utf-8"))
    documents = []
    for name in kustomization["resources"]:
        documents.extend(d for d in yaml.safe_load_all((DEPLOY / name).read_text("utf-8")) if d)
    images = {image["name"]: image for image in kustomization.get("images", [])}
    for document in documents:
        for pair in kustomization.get("labels", []):
            document["metadata"].setdefault("labels", {}).update(pair["pairs"])
        spec = document.get("spec", {}).get("template", {}).get("spec", {})
        for container in spec.get("containers", []):
            image = images.get(container["image"].split(":")[0])
            if image:
                container["image"] = f"{image.get('newName', image['name'])}:{image['newTag']}"
    return documents


def find(documents: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in documents if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def secret_data(secret: dict[str, Any]) -> dict[str, str]:
    data = {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}
    return {**data, **secret.get("stringData", {})}


def container_environment(
    documents: list[dict[str, Any]], container: dict[str, Any]
) -> dict[str, str]:
    """The container's variables as the kubelet sets them: each `envFrom` source in order (a later
    one wins), then `env` (values, `$(VAR)` references, `configMapKeyRef`, `secretKeyRef`)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        prefix = source.get("prefix", "")
        if "configMapRef" in source:
            data = find(documents, "ConfigMap", source["configMapRef"]["name"]).get("data", {})
        else:
            data = secret_data(find(documents, "Secret", source["secretRef"]["name"]))
        env.update({prefix + key: str(value) for key, value in data.items()})
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = expand(variable["value"], env)
        elif "configMapKeyRef" in variable["valueFrom"]:
            ref = variable["valueFrom"]["configMapKeyRef"]
            env[variable["name"]] = find(documents, "ConfigMap", ref["name"])["data"][ref["key"]]
        elif "secretKeyRef" in variable["valueFrom"]:
            ref = variable["valueFrom"]["secretKeyRef"]
            env[variable["name"]] = secret_data(find(documents, "Secret", ref["name"]))[ref["key"]]
        else:
            raise AssertionError(f"a variable this test cannot resolve: {variable}")
    return env


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` references in a command, its arguments or a value."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m[1], m[0]), text)


def container_command(container: dict[str, Any], env: dict[str, str]) -> list[str]:
    """`command` + `args` (the image's entrypoint is empty: `args` alone is the command)."""
    return [expand(part, env) for part in [*container.get("command", []), *container["args"]]]


def test_kustomize_renders_the_gateway_container_this_module_starts() -> None:
    documents = render()
    deployment = find(documents, "Deployment", "gateway")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = container_environment(documents, container)
    assert container_command(container, env) == ["python", "-m", "gateway", "serve"]
    assert env["GATEWAY_ENV"] == "production" and env["PROMETHEUS_MULTIPROC_DIR"].startswith(
        "/tmp/"
    )
    assert env["GATEWAY_JWT_SECRET"].startswith("CHANGE-ME")  # the Secret's placeholders
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]  # /tmp is empty at every start
    assert container["image"].endswith(":0.1.0")


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="compares with kubectl kustomize")
def test_the_python_rendering_starts_the_same_container_as_kustomize() -> None:
    def container(documents: list[dict[str, Any]]) -> tuple[list[str], dict[str, str], str]:
        (found,) = find(documents, "Deployment", "gateway")["spec"]["template"]["spec"][
            "containers"
        ]
        env = container_environment(documents, found)
        return container_command(found, env), env, found["image"]

    assert container(render_in_python()) == container(render())


# ---- starting processes ------------------------------------------------------------------------


@contextmanager
def started(
    commands: Sequence[tuple[list[str], dict[str, str], Path, str]],
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start every `(command, env, cwd, ready URL)` at once, wait until each URL answers (any
    status), stop them after. A process that exits first fails the test with its output."""
    procs: list[tuple[subprocess.Popen[bytes], Any, str]] = []
    try:
        for command, env, cwd, url in commands:
            output = tempfile.TemporaryFile()  # noqa: SIM115  (closed below)
            proc = subprocess.Popen(
                command, env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT
            )
            procs.append((proc, output, url))
        deadline = time.monotonic() + START_TIMEOUT_S
        for proc, output, url in procs:
            while True:
                if proc.poll() is not None:
                    output.seek(0)
                    printed = output.read().decode(errors="replace")
                    raise AssertionError(f"{proc.args} exited with {proc.returncode}:\n{printed}")
                try:
                    httpx.get(url, timeout=2)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, (
                        f"{url} not answering after {START_TIMEOUT_S} s"
                    )
                    time.sleep(0.1)
        yield [proc for proc, _, _ in procs]
    finally:
        for proc, _, _ in procs:
            proc.terminate()
        for proc, output, _ in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            output.close()


def pem_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def without_gateway_variables(extra: dict[str, str]) -> dict[str, str]:
    """This test run's environment less every variable the gateway reads, plus `extra`."""
    settings_names = {name.upper() for name in Settings.model_fields}
    kept = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GATEWAY_", "OTEL_", "PROMETHEUS_"))
        and name not in URL_VARIABLES.values()
        and name not in CREDENTIALS
        and name not in settings_names
        and name not in {"WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS", "PYTHONPATH"}
    }
    return {**kept, **extra}


def build_wheel(directory: Path) -> Path:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(directory), "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if built.returncode != 0 and "setuptools" in built.stderr:
        pytest.skip(f"no package index to build the wheel with: {built.stderr.strip()[-300:]}")
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = directory.glob("*.whl")
    return wheel


def fresh_venv(directory: Path, wheel: Path) -> Path:
    """A new venv holding only the wheel (`--no-deps`); its dependencies, and those of `[mocks]`,
    are the project virtualenv's, reached through a `.pth` line (no network)."""
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(directory)], check=True, timeout=120)
    python = directory / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    shared = Path(sysconfig.get_paths()["purelib"]).resolve()
    (Path(purelib) / "shared-dependencies.pth").write_text(f"{shared}\n")
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    return python


def crm_down(crm: str, base: str, tokens: list[str]) -> None:
    """The CRM answers 503 until a worker's breaker opens (the shipped breaker settings), each
    page for a customer whose CRM answers are not cached: the pod stays ready, `/healthz` says
    degraded."""
    httpx.put(f"{crm}/_admin/faults", json={"error_rate": 1.0, "error_status": 503}, timeout=10)
    health: dict[str, Any] = {}
    for attempt in range(40):
        with httpx.Client(base_url=base, timeout=30) as fresh:  # new connections: both workers
            fresh.post(
                "/graphql",
                json={"query": operation("HomePage")},
                headers={"Authorization": f"Bearer {tokens[attempt % len(tokens)]}"},
            )
            health = fresh.get("/healthz").json()
        if health["status"] == "degraded":  # a breaker opened (or half-open, waiting to probe)
            break
    assert health["status"] == "degraded", health
    assert health["backends"]["crm"]["state"] in {"opened", "half-opened"}
    for _ in range(4):
        with httpx.Client(base_url=base, timeout=10) as fresh:
            ready = fresh.get("/readyz")
        assert ready.status_code == 200, ready.text


def scrape_both_workers(url: str) -> str:
    """`/metrics` once both workers (`WEB_CONCURRENCY=2`) have started: one scrape sees both."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        text = httpx.get(url, timeout=10).text
        if re.search(r"^gateway_workers 2", text, re.M):
            return text
        assert time.monotonic() < deadline, text[:3000]
        time.sleep(0.2)


# ---- the two shipped ways, started together -------------------------------------------------


def check_serves(base: str, token: str) -> dict[str, Any]:
    """`/livez`, `/readyz` and a signed-in customer's HomePage (the frontend's document)."""
    live = httpx.get(f"{base}/livez", timeout=10)
    assert live.status_code == 200 and live.json() == {"status": "alive"}
    ready = httpx.get(f"{base}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    page = httpx.post(
        f"{base}/graphql",
        json={"query": operation("HomePage"), "operationName": "HomePage"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert page.status_code == 200, page.text
    body: dict[str, Any] = page.json()
    assert "errors" not in body, body
    assert body["data"]["viewer"]["displayName"] == "Paul BERTRAND"
    return {"readyz": ready.json()}


@pytest.mark.skipif(REDIS_MISSING, reason="the Deployment's Redis needs redis-server")
def test_the_deployment_and_the_wheel_start_with_an_empty_tmp_and_serve_a_customer(
    tmp_path: Path,
) -> None:
    documents = render()
    (container,) = find(documents, "Deployment", "gateway")["spec"]["template"]["spec"][
        "containers"
    ]
    shipped = container_environment(documents, container)
    command = container_command(container, shipped)
    installing = ThreadPoolExecutor(1)  # the wheel builds while the pod starts
    wheel_venv = installing.submit(
        lambda: fresh_venv(tmp_path / "venv", build_wheel(tmp_path / "dist"))
    )

    with ExitStack() as stack:
        redis_url, _ = stack.enter_context(redis_server(tmp_path))
        mocks = {system: free_port() for system in SYSTEMS}
        credentials = {name: shipped[name] for name in CREDENTIALS}  # the back-ends know them
        pod_tmp = tmp_path / "pod-tmp"  # the emptyDir at /tmp: empty, writable
        pod_tmp.mkdir()
        deployment_port = free_port()
        test_world = {  # what must point at the test world, and nothing else
            **{URL_VARIABLES[s]: f"http://127.0.0.1:{port}" for s, port in mocks.items()},
            "GATEWAY_REDIS_URL": redis_url,
            "GATEWAY_PORT": str(deployment_port),
            "PROMETHEUS_MULTIPROC_DIR": str(pod_tmp / "prometheus"),
            "TMPDIR": str(pod_tmp),
            "GATEWAY_JWT_PRIVATE_KEY": pem_key(),  # the Secret's placeholder, replaced
        }
        assert shipped["GATEWAY_JWT_PRIVATE_KEY"].startswith("CHANGE-ME")
        pod_env = without_gateway_variables(
            {
                **shipped,
                **test_world,
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                "PYTHONPATH": str(ROOT),  # the checkout stands for the image's installed package
            }
        )
        wheel_tmp = tmp_path / "wheel-tmp"
        wheel_tmp.mkdir()
        wheel_port = free_port()
        wheel_env = without_gateway_variables(
            {
                "GATEWAY_PORT": str(wheel_port),
                "GATEWAY_PERSISTED_ONLY": "true",  # the packaged trusted documents
                "PROMETHEUS_MULTIPROC_DIR": str(wheel_tmp / "prometheus"),
                "TMPDIR": str(wheel_tmp),
            }
        )
        processes = [
            (
                [sys.executable, "-m", "mocks", system, "--port", str(port)],
                {**os.environ, **credentials},
                ROOT,
                f"http://127.0.0.1:{port}/_admin/faults",
            )
            for system, port in mocks.items()
        ]
        processes.append((command, pod_env, pod_tmp, f"http://127.0.0.1:{deployment_port}/livez"))
        procs = stack.enter_context(started(processes))
        python = wheel_venv.result()
        installing.shutdown()
        located = subprocess.run(
            [str(python), "-c", "import gateway, mocks; print(gateway.__file__, mocks.__file__)"],
            cwd=wheel_tmp,
            env=wheel_env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert str(ROOT) not in located and str(tmp_path / "venv") in located  # the wheel's code
        serve = [str(python), "-m", "gateway", "serve"]
        wheel_url = f"http://127.0.0.1:{wheel_port}/livez"
        procs += stack.enter_context(started([(serve, wheel_env, wheel_tmp, wheel_url)]))

        with pytest.MonkeyPatch.context() as patch:
            for name, value in pod_env.items():
                patch.setenv(name, value)
            verifier = TokenVerifier(Settings())
            pod_token = verifier.issue(PERSONAS["paul"], "customer")
            others = [  # customers not seen yet: their pages call the CRM
                verifier.issue(client["clientId"], "customer")
                for client in fixture("crm")["clients"]
                if client["clientId"] != PERSONAS["paul"]
            ]
        with pytest.MonkeyPatch.context() as patch:
            for name in list(os.environ):
                if name not in wheel_env:
                    patch.delenv(name)
            wheel_token = TokenVerifier(Settings()).issue(PERSONAS["paul"], "customer")

        pod = check_serves(f"http://127.0.0.1:{deployment_port}", pod_token)
        assert pod["readyz"]["checks"] == {
            "started": "ok",
            "settings": "ok",
            "redis": "ok",
            "draining": "ok",
        }
        crm_down(f"http://127.0.0.1:{mocks['crm']}", f"http://127.0.0.1:{deployment_port}", others)
        metrics = scrape_both_workers(f"http://127.0.0.1:{deployment_port}/metrics")
        served = r'^gateway_graphql_requests_total\{operation="HomePage",outcome="ok"\} 1'
        assert re.search(served, metrics, re.M), metrics[:3000]
        assert re.search(r'^gateway_breaker_state\{backend="crm"\} [12]', metrics, re.M)
        assert list((pod_tmp / "prometheus").glob("*.db"))
        check_serves(f"http://127.0.0.1:{wheel_port}", wheel_token)
        assert list((wheel_tmp / "prometheus").glob("*.db"))
        assert all(proc.poll() is None for proc in procs)
