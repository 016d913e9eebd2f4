"""A real `redis-server` on a free port for the tests that need one (skipped when not installed)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from mocks.processes import free_port

REDIS_MISSING = shutil.which("redis-server") is None
needs_redis = pytest.mark.skipif(REDIS_MISSING, reason="redis-server is not installed")


@contextmanager
def redis_server(directory: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A throwaway redis-server (no persistence) on a free port: its URL and its process (to stop
    it, SIGSTOP it…); stopped after."""
    port = free_port()
    options = {"--port": str(port), "--bind": "127.0.0.1", "--save": "", "--appendonly": "no"}
    server = subprocess.Popen(
        [
            "redis-server",
            *(part for pair in options.items() for part in pair),
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True
            ).stdout.strip()
            != "PONG"
        ):
            if time.monotonic() > deadline:
                raise TimeoutError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", server
    finally:
        server.send_signal(signal.SIGCONT)
        server.terminate()
        server.wait(timeout=10)


@dataclass(frozen=True)
class TlsRedis:
    """A redis-server answering only TLS, asking for a client certificate, with an ACL user."""

    url: str  # rediss://gateway:<password>@127.0.0.1:<port>/0
    port: int
    ca_file: str
    cert_file: str
    key_file: str
    other_ca_file: str  # a CA that signed nothing of this server's
    process: subprocess.Popen[bytes]


ACL_USER, ACL_PASSWORD = "gateway", "s3cret-acl-password"


@contextmanager
def tls_redis_server(directory: Path) -> Iterator[TlsRedis]:
    """A throwaway redis-server with `--port 0 --tls-port <free> --tls-auth-clients yes`, its
    certificates from a test CA (`trustme`), the default user off and one ACL user."""
    import trustme

    ca, other = trustme.CA(), trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    client_cert = ca.issue_cert("gateway.test")
    files = {
        "ca": directory / "ca.pem",
        "other": directory / "other-ca.pem",
        "server-cert": directory / "server.pem",
        "server-key": directory / "server.key",
        "client-cert": directory / "client.pem",
        "client-key": directory / "client.key",
    }
    ca.cert_pem.write_to_path(files["ca"])
    other.cert_pem.write_to_path(files["other"])
    server_cert.cert_chain_pems[0].write_to_path(files["server-cert"])
    server_cert.private_key_pem.write_to_path(files["server-key"])
    client_cert.cert_chain_pems[0].write_to_path(files["client-cert"])
    client_cert.private_key_pem.write_to_path(files["client-key"])
    port = free_port()
    config = directory / "redis.conf"
    config.write_text(
        "\n".join(
            [
                "port 0",
                f"tls-port {port}",
                "bind 127.0.0.1",
                f"tls-cert-file {files['server-cert']}",
                f"tls-key-file {files['server-key']}",
                f"tls-ca-cert-file {files['ca']}",
                "tls-auth-clients yes",
                'save ""',
                "appendonly no",
                f"dir {directory}",
                "user default off",
                f"user {ACL_USER} on >{ACL_PASSWORD} ~* &* +@all",
            ]
        )
        + "\n"
    )
    server = subprocess.Popen(["redis-server", str(config)], stdout=subprocess.DEVNULL)
    cli = [
        "redis-cli",
        "-p",
        str(port),
        "--tls",
        "--cacert",
        str(files["ca"]),
        "--cert",
        str(files["client-cert"]),
        "--key",
        str(files["client-key"]),
        "--user",
        ACL_USER,
        "--pass",
        ACL_PASSWORD,
        "--no-auth-warning",
        "ping",
    ]
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(cli, capture_output=True, text=True).stdout.strip() != "PONG":
            if time.monotonic() > deadline or server.poll() is not None:
                raise TimeoutError("redis-server with TLS did not start")
            time.sleep(0.05)
        yield TlsRedis(
            url=f"rediss://{ACL_USER}:{ACL_PASSWORD}@127.0.0.1:{port}/0",
            port=port,
            ca_file=str(files["ca"]),
            cert_file=str(files["client-cert"]),
            key_file=str(files["client-key"]),
            other_ca_file=str(files["other"]),
            process=server,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


def _ping(port: int) -> bool:
    found = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True)
    return found.stdout.strip() == "PONG"


def redis_cli(port: int, *command: str) -> str:
    found = subprocess.run(
        ["redis-cli", "-p", str(port), *command], capture_output=True, text=True, timeout=10
    )
    return found.stdout.strip()


@dataclass(frozen=True)
class SentinelSetup:
    """A primary, its replica and one sentinel watching them (quorum 1) as `SERVICE`."""

    primary: subprocess.Popen[bytes]
    primary_port: int
    replica: subprocess.Popen[bytes]
    replica_port: int
    sentinel: subprocess.Popen[bytes]
    sentinel_port: int

    def current_primary_port(self) -> int:
        found = redis_cli(self.sentinel_port, "sentinel", "get-master-addr-by-name", SERVICE)
        return int(found.splitlines()[-1])


SERVICE = "gateway-primary"


@contextmanager
def sentinel_setup(directory: Path) -> Iterator[SentinelSetup]:
    """redis-server as primary and as its replica, and `redis-server sentinel.conf --sentinel`
    in front of them, quick to decide (down after 1 s, a fail-over given 3 s)."""
    primary_port, replica_port, sentinel_port = free_port(), free_port(), free_port()
    started: list[subprocess.Popen[bytes]] = []

    def server(port: int, *extra: str) -> subprocess.Popen[bytes]:
        folder = directory / str(port)
        folder.mkdir()
        process = subprocess.Popen(
            [
                *("redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""),
                *("--appendonly", "no", "--dir", str(folder), *extra),
            ],
            stdout=subprocess.DEVNULL,
        )
        started.append(process)
        return process

    try:
        primary = server(primary_port)
        replica = server(replica_port, "--replicaof", "127.0.0.1", str(primary_port))
        config = directory / "sentinel.conf"
        config.write_text(
            "\n".join(
                [
                    f"port {sentinel_port}",
                    "bind 127.0.0.1",
                    f"dir {directory}",
                    f"sentinel monitor {SERVICE} 127.0.0.1 {primary_port} 1",
                    f"sentinel down-after-milliseconds {SERVICE} 1000",
                    f"sentinel failover-timeout {SERVICE} 3000",
                    f"sentinel parallel-syncs {SERVICE} 1",
                ]
            )
            + "\n"
        )
        sentinel = subprocess.Popen(
            ["redis-server", str(config), "--sentinel"], stdout=subprocess.DEVNULL
        )
        started.append(sentinel)
        deadline = time.monotonic() + 20
        while not (
            _ping(primary_port)
            and "master_link_status:up" in redis_cli(replica_port, "info", "replication")
            and f"{replica_port}" in redis_cli(sentinel_port, "sentinel", "replicas", SERVICE)
        ):
            if time.monotonic() > deadline:
                raise TimeoutError("the primary, its replica and the sentinel did not come up")
            time.sleep(0.1)
        yield SentinelSetup(primary, primary_port, replica, replica_port, sentinel, sentinel_port)
    finally:
        for process in started:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)
