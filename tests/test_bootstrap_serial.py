"""A client made with the APIv3 key alone names WeChat Pay's key on its very first business request.

Every request carries `Wechatpay-Serial` (as the Go and Java SDKs send it): the platform
certificates are downloaded before the first call, and a failed download leaves the call unsent.
"""

from __future__ import annotations

import asyncio

import pytest

from wechatpay_chain import Client, TransportError
from wechatpay_chain.testing import Answer, Emulator

# A merchant with platform certificates: the APIv3 key alone then downloads them.
pytestmark = pytest.mark.wechatpay_emulator(key_mode="certificate")


async def test_the_first_business_request_names_the_platform_certificate(emulator: Emulator) -> None:
    emulator.stub("POST", "v3/things", {"ok": 1})
    client = emulator.client(certs=None)  # the APIv3 key alone
    await client["v3/things"].post(json={"a": 1})
    targets = [(r.target, r.headers.get("Wechatpay-Serial")) for r in emulator.received]
    assert targets == [
        ("/v3/certificates", None),  # nothing to name yet: the list names the keys
        ("/v3/things", emulator.credentials.platform_serial),
    ]


async def test_concurrent_first_calls_share_one_download_and_all_name_the_key(emulator: Emulator) -> None:
    emulator.stub("GET", "v3/things/{n}", lambda incoming: Answer(200, {"n": incoming.segments[-1]}))
    client = emulator.client(certs=None)
    await asyncio.gather(*(client.chain("v3/things/{n}").get(n=str(n)) for n in range(20)))
    downloads = [r for r in emulator.received if r.target == "/v3/certificates"]
    calls = [r for r in emulator.received if r.target != "/v3/certificates"]
    assert len(downloads) == 1 and len(calls) == 20
    assert {r.headers.get("Wechatpay-Serial") for r in calls} == {emulator.credentials.platform_serial}


async def test_a_failed_download_leaves_the_call_unsent(emulator: Emulator) -> None:
    emulator.stub("POST", "v3/things", {"ok": 1})
    emulator.fault("drop", "v3/certificates")
    client: Client = emulator.client(certs=None)
    with pytest.raises(TransportError, match="POST v3/things: not sent: downloading the platform certificates") as e:
        await client["v3/things"].post(json={"a": 1})
    assert e.value.sent is False
    assert [r.target for r in emulator.received if r.target == "/v3/things"] == []


async def test_closing_the_client_during_the_first_download_ends_the_call_with_a_transport_error(
    emulator: Emulator,
) -> None:
    emulator.stub("POST", "v3/things", {"ok": 1})
    emulator.fault("delay", "v3/certificates", seconds=2)
    client = emulator.client(certs=None)
    call = asyncio.ensure_future(client["v3/things"].post(json={"a": 1}))
    await asyncio.sleep(0.2)
    await client.close()
    with pytest.raises(TransportError, match="closed") as caught:
        await call
    assert caught.value.sent is False
