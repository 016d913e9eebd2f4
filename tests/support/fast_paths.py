"""Tests of a fast path itself skip when the run has them off (GATEWAY_FAST_PATHS=false)."""

from __future__ import annotations

import pytest

from gateway.settings import fast_paths_of_environment

ON = fast_paths_of_environment()
only_with_fast_paths = pytest.mark.skipif(
    not ON, reason="checks a fast path, which GATEWAY_FAST_PATHS=false turns off"
)
