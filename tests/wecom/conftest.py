"""WeCom test fixtures: one fake WeCom server per test session, a fresh fake corp per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fake_wecom.corp import FakeCorp
from fake_wecom.server import FakeServer

# --- fake WeCom server (owned by W2) ------------------------------------------------------------


@pytest.fixture(scope="session")
def fake_wecom_server() -> Iterator[FakeServer]:
    """The uvicorn-served fake on 127.0.0.1 (a free port), shared by the session."""
    server = FakeServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_wecom(fake_wecom_server: FakeServer) -> FakeServer:
    """The fake server serving a fresh, empty FakeCorp("wwfakecorp", "fake-secret") for this test."""
    # .base_url → WecomClient; .corp → seed/simulate/inspect (seed, add_staff, simulate_scan, call_counts,
    # fail_next, advance); .root_url + "/fake/<action>" → the same simulations over HTTP.
    fake_wecom_server.reset(FakeCorp())
    return fake_wecom_server
