"""Redis as the shared store: two gateway processes behind one real redis-server share entries."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import httpx
import pytest

from mocks.processes import free_port, mock_servers, pointing_at, process
from tests.support.gateway import PERSONAS, TODAY, operation

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server is not installed"
)


def test_two_gateways_share_cached_answers_through_redis(redis_url: str) -> None:
    with mock_servers() as urls:
        env = {
            **pointing_at(urls),
            "GATEWAY_REDIS_URL": redis_url,
            "GATEWAY_TODAY": TODAY.isoformat(),
            "GATEWAY_CACHE_TIMEOUT_S": "2",  # sharing is tested here, not the 50 ms bound
        }
        ports = [free_port(), free_port()]
        token = subprocess.run(
            [sys.executable, "-m", "gateway", "token", PERSONAS["geralt"]],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        with (
            process(
                ["-m", "gateway", "serve", "--port", str(ports[0])],
                [f"http://127.0.0.1:{ports[0]}/healthz"],
                env=env,
            ),
            process(
                ["-m", "gateway", "serve", "--port", str(ports[1])],
                [f"http://127.0.0.1:{ports[1]}/healthz"],
                env=env,
            ),
        ):

            def home(port: int) -> dict[str, object]:
                response = httpx.post(
                    f"http://127.0.0.1:{port}/graphql",
                    json={"query": operation("HomePage")},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=10,
                )
                body: dict[str, object] = response.json()
                return body

            def calls() -> int:
                return sum(
                    httpx.get(url + "/_admin/calls").json()["total"] for url in urls.values()
                )

            first = home(ports[0])
            time.sleep(0.3)  # gateway A writes to Redis in the background, after answering
            after_first = calls()
            second = home(ports[1])
            assert (
                "errors" not in first and calls() == after_first == 6
            )  # gateway B: everything from Redis
            strip = lambda body: str(body).split("downloadUrl")[0]  # noqa: E731
            assert strip(first) == strip(second)
            health = httpx.get(f"http://127.0.0.1:{ports[1]}/healthz").json()
            assert (
                health["cache"]["shared"] is True
                and health["cache"]["hits"] >= 6
                and health["cache"]["misses"] == 0
            )
