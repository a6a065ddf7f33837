"""pytest fixtures for an offline WeChat Pay, registered through the `pytest11` entry point.

    async def test_insurer_confirms_the_order(wechatpay_emulator, wechatpay_client):
        orders = wechatpay_client.v3.hirePowerBank.insuranceOrders
        await orders.post(json={"out_order_no": "PB1", "openid": "o1", "service_id": "500001"})
        wechatpay_emulator.insurance.insurer_confirm("PB1")
        assert (await orders._out_order_no_.get(out_order_no="PB1")).json()["order_receive_state"] == "RECEIVED"

Needs pytest-asyncio. With `asyncio_mode = auto` an `async def test_…` just works; in strict mode
(pytest-asyncio's default) mark it `@pytest.mark.asyncio`. The emulator runs in the event loop
of `asyncio_default_fixture_loop_scope` (set it to the tests' loop scope, "function" by default).
`@pytest.mark.wechatpay_emulator(**kwargs)` passes keyword arguments to the test's `Emulator`
(e.g. `key_mode="certificate"`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from .._client import Client
from ._credentials import Credentials
from ._emulator import Emulator

MARKER = "wechatpay_emulator(**kwargs): keyword arguments for this test's wechatpay_emulator (an Emulator)"


def pytest_configure(config: pytest.Config) -> None:
    """Register the `wechatpay_emulator` marker."""
    config.addinivalue_line("markers", MARKER)


def _asyncio_fixture(function: Callable[..., Any]) -> Any:
    """`pytest_asyncio.fixture(function)`, or a fixture that says to install pytest-asyncio."""
    try:
        import pytest_asyncio
    except ImportError:

        @pytest.fixture(name=function.__name__)
        def missing() -> None:
            pytest.fail(f"{function.__name__} is an asyncio fixture: pip install pytest-asyncio", pytrace=False)

        return missing
    return pytest_asyncio.fixture(function)


@pytest.fixture(scope="session")
def wechatpay_credentials() -> Credentials:
    """Emulator keys made once per session: generating RSA keys is the slow part of a start."""
    return Credentials.generate()


@_asyncio_fixture
async def wechatpay_emulator(
    request: pytest.FixtureRequest, wechatpay_credentials: Credentials
) -> AsyncIterator[Emulator]:
    """A started `Emulator` on 127.0.0.1, fresh for each test (its keys are the session's)."""
    marker = request.node.get_closest_marker("wechatpay_emulator")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    # A copy, so a test that rotates the platform certificate leaves the others' keys alone.
    options.setdefault(
        "credentials", dataclasses.replace(wechatpay_credentials, platform=list(wechatpay_credentials.platform))
    )
    async with Emulator(**options) as emulator:
        yield emulator


@pytest.fixture
def wechatpay_client(wechatpay_emulator: Emulator) -> Client:
    """A `Client` bound to `wechatpay_emulator` (closed with it)."""
    return wechatpay_emulator.client()
