"""Platform certificates that manage themselves: bootstrap, rotation, refusals, public-key mode, transition."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from wechatpay_chain import CertificateRefresher, Client, ConfigurationError, KeyRing, SignatureError, Verifier
from wechatpay_chain.testing import Answer, Credentials, Emulator, PlatformCertificate
from wechatpay_chain.testing._auth import sign_answer
from wechatpay_chain.testing._credentials import cert_pem
from wechatpay_chain.testing._families.certificates import certificate_item, certificate_list

PING = "v3/ping"
# A merchant in transition has both kinds of key: the certificate downloads and the switch are tested here.
pytestmark = pytest.mark.wechatpay_emulator(key_mode="transition")


def refresher(client: Client) -> CertificateRefresher:
    """The client's certificate refresher (it has one: it was given the APIv3 key)."""
    assert client.refresher is not None
    return client.refresher


def downloads(emu: Emulator) -> list[Any]:
    return [r for r in emu.received if r.method == "GET" and r.target == "/v3/certificates"]


def signed_by(signer: PlatformCertificate, payload: dict[str, Any], now: float) -> Answer:
    """An answer signed with `signer`, whoever the request named."""
    body = orjson.dumps(payload)
    return Answer(
        200, body, {"Content-Type": "application/json", **sign_answer(signer.key, signer.serial, body, int(now))}
    )


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until `condition()` holds; fail after `timeout` seconds."""

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


@pytest.fixture(scope="module")
def stranger() -> PlatformCertificate:
    """A certificate WeChat Pay never issued to this merchant."""
    return PlatformCertificate.generate()


@pytest.fixture
def ping(emulator: Emulator) -> Emulator:
    emulator.stub("GET", PING, {"pong": True})
    return emulator


@pytest.fixture
def bare(ping: Emulator) -> Client:
    """A client with only mchid, serial, private key and APIv3 key: nothing about WeChat Pay's keys."""
    return ping.client(certs=None)


# -- first download --------------------------------------------------------------------------


async def test_bootstrap_with_nothing_but_the_apiv3_key(ping: Emulator, bare: Client) -> None:
    assert len(bare.certificates) == 0
    response = await bare["v3/ping"].get()
    assert response.json() == {"pong": True}
    serial = ping.credentials.platform_serial
    assert response.headers["Wechatpay-Serial"] == serial
    assert bare.certificates.serials() == [serial]
    assert len(downloads(ping)) == 1
    await bare["v3/ping"].get()
    assert len(downloads(ping)) == 1
    assert ping.received[-1].headers["Wechatpay-Serial"] == serial  # requests now name the certificate


async def test_concurrent_first_calls_share_one_download(ping: Emulator, bare: Client) -> None:
    answers = await asyncio.gather(*(bare["v3/ping"].get() for _ in range(5)))
    assert all(a.json() == {"pong": True} for a in answers)
    assert len(downloads(ping)) == 1


def test_a_client_needs_certs_or_the_apiv3_key(credentials: Credentials) -> None:
    with pytest.raises(ConfigurationError, match="apiv3_key"):
        Client(credentials.mchid, credentials.serial, credentials.merchant_key, None)
    client = Client(credentials.mchid, credentials.serial, credentials.merchant_key, apiv3_key=credentials.apiv3_key)
    assert len(client.certificates) == 0 and client.refresher is not None


async def test_the_certificate_list_as_downloaded(ping: Emulator, bare: Client) -> None:
    await refresher(bare).refresh()
    [entry] = bare.certificates.certificates()
    platform = ping.credentials.platform[-1]
    assert entry.certificate == platform.certificate
    assert entry.pem() == cert_pem(platform.certificate)
    item = certificate_item(ping.credentials.apiv3_key, platform)
    assert item["encrypt_certificate"]["associated_data"] == "certificate"
    assert item["encrypt_certificate"]["algorithm"] == "AEAD_AES_256_GCM"


async def test_a_replaced_verifier_checks_the_certificate_download_too(ping: Emulator, bare: Client) -> None:
    bare.middleware.replace("verifier", Verifier(refresher(bare).key_for))
    response = await asyncio.wait_for(bare["v3/ping"].get(), 10)
    assert response.headers["Wechatpay-Serial"] in bare.certificates


# -- rotation --------------------------------------------------------------------------------


async def test_rotation_keeps_calls_working_and_keeps_the_old_certificate(ping: Emulator, bare: Client) -> None:
    await bare["v3/ping"].get()
    old = ping.credentials.platform_serial
    new = ping.rotate_certificate()
    response = await bare["v3/ping"].get()
    assert response.headers["Wechatpay-Serial"] == new
    assert set(bare.certificates.serials()) == {old, new}
    refresh = downloads(ping)[-1]
    assert len(downloads(ping)) == 2
    # The refresh named the certificate already held, and the list verified with it.
    assert refresh.headers["Wechatpay-Serial"] == old
    assert bare.certificates.request_serial() == new


async def test_background_refresh_picks_up_a_rotation(ping: Emulator) -> None:
    client = ping.client(certs=None, refresh_interval=0.05)
    await client["v3/ping"].get()
    new = ping.rotate_certificate()
    await eventually(lambda: new in client.certificates)
    assert len(downloads(ping)) >= 2
    await client.close()
    assert client.refresher is None or client.refresher._scheduled is None


async def test_a_failed_background_refresh_is_logged_and_calls_go_on(
    ping: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    client = ping.client(certs=None, refresh_interval=0.05)
    await client["v3/ping"].get()
    ping.fault("status", "v3/certificates", status=500, code="SYSTEM_ERROR")
    with caplog.at_level(logging.WARNING, logger="wechatpay_chain"):
        await eventually(
            lambda: any("refreshing the platform certificates failed" in r.message for r in caplog.records)
        )
        assert (await client["v3/ping"].get()).json() == {"pong": True}
    record = next(r for r in caplog.records if "refreshing" in r.message)
    assert record.name == "wechatpay_chain" and "SYSTEM_ERROR" in record.message
    assert ping.credentials.apiv3_key not in caplog.text


async def test_refresh_jitter_stays_within_ten_percent(credentials: Credentials) -> None:
    client = Client(
        credentials.mchid, credentials.serial, credentials.merchant_key, apiv3_key="k" * 32, refresh_interval=1000
    )
    refresher = client.refresher
    assert refresher is not None
    delays = {refresher.next_delay() for _ in range(200)}
    assert all(900 <= d <= 1100 for d in delays)
    assert len(delays) > 100


async def test_close_stops_the_refresh_task(ping: Emulator, bare: Client) -> None:
    await bare["v3/ping"].get()
    assert bare.refresher is not None
    task = bare.refresher._scheduled
    assert task is not None and not task.done()
    await bare.close()
    assert task.cancelled()


async def test_public_key_only_store_runs_no_refresh_task(emulator: Emulator) -> None:
    client = emulator.client(certs={emulator.credentials.public_key_id: emulator.credentials.public_key.public_key()})
    emulator.stub("GET", PING, {"pong": True})
    await client["v3/ping"].get()
    assert client.refresher is None or client.refresher._scheduled is None


def test_expired_certificates_are_dropped_and_never_named(credentials: Credentials) -> None:
    certificate = credentials.platform[0].certificate
    later = certificate.not_valid_after_utc.timestamp() + 1
    now = [certificate.not_valid_before_utc.timestamp() + 60]
    store = KeyRing(
        {credentials.platform_serial: certificate, credentials.public_key_id: credentials.public_key.public_key()},
        prefer="certificate",
        clock=lambda: now[0],
    )
    assert store.request_serial() == credentials.platform_serial
    now[0] = later
    assert store.request_serial() == credentials.public_key_id  # the expired certificate is skipped
    assert store.prune() == [credentials.platform_serial]
    assert credentials.platform_serial not in store and credentials.public_key_id in store


# -- refused downloads -----------------------------------------------------------------------


async def test_a_certificate_with_a_wrong_aead_tag_is_refused(ping: Emulator, bare: Client) -> None:
    forged = dataclasses.replace(ping.credentials, apiv3_key="0" * 32)
    ping.stub("GET", "v3/certificates", lambda _: Answer(200, certificate_list(forged)))
    with pytest.raises(SignatureError) as caught:
        await bare["v3/ping"].get()
    assert caught.value.check == "aead" and "apiv3_key" in str(caught.value)
    assert ping.credentials.apiv3_key not in str(caught.value)
    assert len(bare.certificates) == 0


async def test_a_list_signed_by_a_key_not_in_it_is_refused(
    ping: Emulator, bare: Client, stranger: PlatformCertificate
) -> None:
    ping.stub("GET", "v3/certificates", lambda _: signed_by(stranger, certificate_list(ping.credentials), ping.now()))
    with pytest.raises(SignatureError, match="refused the platform certificate list") as caught:
        await bare["v3/ping"].get()
    assert caught.value.check == "serial"
    assert len(bare.certificates) == 0


@pytest.mark.parametrize(("fault", "check"), [("tamper_body", "certificates"), ("bad_signature", "signature")])
async def test_a_list_altered_in_transit_is_refused(ping: Emulator, bare: Client, fault: str, check: str) -> None:
    ping.fault(fault, "v3/certificates")
    with pytest.raises(SignatureError, match="refused the platform certificate list") as caught:
        await refresher(bare).refresh()
    assert caught.value.check == check
    assert len(bare.certificates) == 0


async def test_a_refresh_signed_by_an_unknown_key_is_refused(
    ping: Emulator, bare: Client, stranger: PlatformCertificate
) -> None:
    await bare["v3/ping"].get()
    held = bare.certificates.serials()
    # A list that carries the stranger and is signed by it: fine for a first download, not later.
    book = dataclasses.replace(ping.credentials, platform=[*ping.credentials.platform, stranger])
    ping.stub("GET", "v3/certificates", lambda _: signed_by(stranger, certificate_list(book), ping.now()))
    with pytest.raises(SignatureError, match="a key already held"):
        await refresher(bare).refresh()
    assert bare.certificates.serials() == held
    assert (await bare["v3/ping"].get()).json() == {"pong": True}  # calls that can verify go on


async def test_a_forged_answer_triggers_one_refresh_then_fails(
    ping: Emulator, bare: Client, stranger: PlatformCertificate, caplog: pytest.LogCaptureFixture
) -> None:
    await bare["v3/ping"].get()
    ping.stub("GET", "v3/forged", lambda _: signed_by(stranger, {"pay": "me"}, ping.now()))
    for _ in range(3):
        with pytest.raises(SignatureError) as caught:
            await bare["v3/forged"].get()
        assert caught.value.check == "serial"
    assert len(downloads(ping)) == 2  # the bootstrap, then one refresh for the unknown serial
    assert stranger.serial not in bare.certificates


async def test_a_listed_serial_that_does_not_match_its_certificate_is_refused(ping: Emulator, bare: Client) -> None:
    def lying(_: Any) -> Answer:
        body = certificate_list(ping.credentials)
        body["data"][0]["serial_no"] = "ABCDEF"
        return Answer(200, body)

    ping.stub("GET", "v3/certificates", lying)
    with pytest.raises(SignatureError) as caught:
        await refresher(bare).refresh()
    assert caught.value.check == "certificates"


# -- public-key mode -------------------------------------------------------------------------


@pytest.fixture
async def pk_only(credentials: Credentials) -> Any:
    async with Emulator(credentials=credentials, key_mode="public-key") as emu:
        emu.stub("GET", PING, {"pong": True})
        yield emu


async def test_public_key_merchant_with_the_key_configured(pk_only: Emulator) -> None:
    creds = pk_only.credentials
    client = pk_only.client(certs={creds.public_key_id: creds.public_key.public_key()}, apiv3_key=None)
    response = await client["v3/ping"].get()
    assert response.headers["Wechatpay-Serial"] == creds.public_key_id
    assert pk_only.received[-1].headers["Wechatpay-Serial"] == creds.public_key_id
    assert downloads(pk_only) == []


async def test_public_key_only_merchant_gets_a_clear_message(pk_only: Emulator) -> None:
    client = pk_only.client(certs=None)
    with pytest.raises(ConfigurationError, match=r"404 RESOURCE_NOT_EXISTS.*certs=\{'PUB_KEY_ID_") as caught:
        await refresher(client).refresh()
    assert pk_only.credentials.apiv3_key not in str(caught.value)
    with pytest.raises(ConfigurationError, match="PUB_KEY_ID_"):
        await client.encrypt("张三")
    with pytest.raises(ConfigurationError, match=r"RESOURCE_NOT_EXISTS.*certs=\{'PUB_KEY_ID_"):
        await client["v3/ping"].get()  # refused before sending: it could name no key
    assert [r.target for r in pk_only.received if "ping" in r.target] == []
    assert client.refresher is None or client.refresher._scheduled is None


@pytest.mark.parametrize("status", [403, 404])
async def test_resource_not_exists_means_public_key_mode(ping: Emulator, bare: Client, status: int) -> None:
    ping.stub("GET", "v3/certificates", Answer(status, {"code": "RESOURCE_NOT_EXISTS", "message": "无可用的平台证书"}))
    with pytest.raises(ConfigurationError, match=f"{status} RESOURCE_NOT_EXISTS"):
        await refresher(bare).refresh()
    assert refresher(bare).public_key_only


# -- transition ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefer", "named"),
    [(None, "public_key"), ("public_key", "public_key"), ("certificate", "certificate")],
)
async def test_transition_follows_the_preference(ping: Emulator, prefer: str | None, named: str) -> None:
    creds = ping.credentials
    client = ping.client(prefer=prefer)  # the emulator's client holds both the certificate and the public key
    response = await client["v3/ping"].get()
    expected = creds.public_key_id if named == "public_key" else creds.platform_serial
    assert ping.received[-1].headers["Wechatpay-Serial"] == expected
    assert response.headers["Wechatpay-Serial"] == expected


async def test_transition_answers_verify_with_whichever_key_signed(ping: Emulator) -> None:
    creds = ping.credentials
    client = ping.client()
    ping.stub("GET", "v3/by-certificate", lambda _: signed_by(creds.platform[-1], {"by": "cert"}, ping.now()))
    assert (await client["v3/by-certificate"].get()).json() == {"by": "cert"}
    assert (await client["v3/ping"].get()).headers["Wechatpay-Serial"] == creds.public_key_id


async def test_switch_from_certificates_to_the_public_key(ping: Emulator, bare: Client) -> None:
    await bare["v3/ping"].get()  # certificate mode, downloaded
    creds = ping.credentials
    ping.key_mode = "public-key"  # WeChat Pay now signs with the public key
    with pytest.raises(SignatureError) as caught:
        await bare["v3/ping"].get()
    assert caught.value.check == "serial" and creds.public_key_id in str(caught.value)
    bare.certificates.add(creds.public_key_id, creds.public_key.public_key())
    response = await bare["v3/ping"].get()
    assert response.headers["Wechatpay-Serial"] == creds.public_key_id
    assert ping.received[-1].headers["Wechatpay-Serial"] == creds.public_key_id


async def test_switch_from_the_public_key_to_certificates(ping: Emulator) -> None:
    creds = ping.credentials
    client = ping.client(certs={creds.public_key_id: creds.public_key.public_key()})  # and the APIv3 key
    assert (await client["v3/ping"].get()).headers["Wechatpay-Serial"] == creds.public_key_id
    # An answer signed with a certificate the client never had: fetched, verified, accepted.
    ping.stub("GET", "v3/by-certificate", lambda _: signed_by(creds.platform[-1], {"by": "cert"}, ping.now()))
    assert (await client["v3/by-certificate"].get()).json() == {"by": "cert"}
    assert creds.platform_serial in client.certificates
    client.certificates.prefer = "certificate"
    assert client.certificates.request_serial() == creds.platform_serial


# -- several merchants -----------------------------------------------------------------------


async def test_each_client_has_its_own_store(ping: Emulator, credentials: Credentials) -> None:
    other = Credentials.generate("1900000110")
    async with Emulator(credentials=other, key_mode="transition") as second:
        second.stub("GET", PING, {"pong": 2})
        one, two = ping.client(certs=None), second.client(certs=None)
        assert (await one["v3/ping"].get()).json() == {"pong": True}
        assert (await two["v3/ping"].get()).json() == {"pong": 2}
        assert one.certificates.serials() == [credentials.platform_serial]
        assert two.certificates.serials() == [other.platform_serial]
        assert one.certificates is not two.certificates
