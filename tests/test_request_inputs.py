"""Every mistaken or hostile call input is refused with a typed error before anything is sent.

Headers, identities, bodies, inline queries, timeouts and base URLs: each slip raises the
package's ConfigurationError or TemplateError naming what to fix, and nothing reaches the wire.
What is accepted goes out exactly as it was signed.
"""

from __future__ import annotations

import math
from typing import Any

import aiohttp
import pytest

from wechatpay_chain import Client, ConfigurationError, Signer, TemplateError
from wechatpay_chain.testing import Credentials, Emulator

NOT_SENT = "v3/things"


def client_with(credentials: Credentials, **settings: Any) -> Client:
    options: dict[str, Any] = {
        "mchid": credentials.mchid,
        "serial": credentials.serial,
        "private_key": credentials.merchant_key,
        "certs": {credentials.public_key_id: credentials.public_key.public_key()},
    }
    options.update(settings)
    return Client(**options)


# -- headers --------------------------------------------------------------------------------

BAD_HEADERS: dict[str, tuple[dict[Any, Any], str]] = {
    "CR/LF in a value": ({"X-Trace": "a\r\nX-Injected: 1"}, "line break"),
    "a bare LF": ({"X-Trace": "a\nb"}, "line break"),
    "a NUL": ({"X-Trace": "a\0b"}, "control character"),
    "non-ASCII": ({"X-Trace": "追踪"}, "non-ASCII"),
    "a lone surrogate": ({"X-Trace": "\udc80"}, "non-ASCII"),
    "an int value": ({"X-Trace": 1}, "must be a str, got int"),
    "a None value": ({"X-Trace": None}, "must be a str, got NoneType"),
    "bytes": ({"X-Trace": b"t1"}, "must be a str, got bytes"),
    "a name with a space": ({"X Trace": "t1"}, "is not a header name"),
    "a name with a colon": ({"X-Trace:": "t1"}, "is not a header name"),
    "an int name": ({1: "t1"}, "is not a header name"),
    "Content-Length": ({"Content-Length": "3"}, "set by the client"),
    "Transfer-Encoding": ({"transfer-encoding": "chunked"}, "set by the client"),
    "Host": ({"Host": "api2.mch.weixin.qq.com"}, "set by the client"),
    "Authorization": ({"Authorization": 'WECHATPAY2-SHA256-RSA2048 mchid="1"'}, "set by the client"),
}


@pytest.mark.parametrize("case", BAD_HEADERS, ids=list(BAD_HEADERS))
async def test_a_bad_call_header_is_refused_before_sending(emulator: Emulator, client: Client, case: str) -> None:
    headers, message = BAD_HEADERS[case]
    with pytest.raises(ConfigurationError, match=message):
        await client.chain(NOT_SENT).post(json={"a": 1}, headers=headers)
    assert list(emulator.received) == []


@pytest.mark.parametrize("case", BAD_HEADERS, ids=list(BAD_HEADERS))
def test_a_bad_client_header_is_refused_when_the_client_is_made(credentials: Credentials, case: str) -> None:
    headers, message = BAD_HEADERS[case]
    with pytest.raises(ConfigurationError, match=message):
        client_with(credentials, headers=headers)


async def test_headers_that_are_fine_go_out_as_given(emulator: Emulator, client: Client) -> None:
    emulator.stub("GET", NOT_SENT, {"ok": 1})
    await client.chain(NOT_SENT).get(headers={"X-Trace": "t1 \t;=,", "Accept-Language": "zh-CN"})
    (received,) = emulator.received
    assert received.headers["X-Trace"] == "t1 \t;=,"
    assert received.headers["Accept-Language"] == "zh-CN"


# -- identities -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mchid", "serial", "message"),
    [
        ('1900000109",serial_no="X', None, "merchant id"),
        ("1900000109 ", None, "merchant id"),
        ("１９００", None, "merchant id"),
        (1900000109, None, "required, as a str"),
        (None, 'ABC",mchid="1', "certificate serial"),
        (None, "3775B6A45ACD588826D15E583A95F5DG", "certificate serial"),
        (None, "AB CD", "certificate serial"),
        (None, "", "required"),
    ],
    ids=[
        "quote in mchid",
        "space in mchid",
        "full-width digits",
        "int mchid",
        "quote in serial",
        "not hex",
        "space",
        "empty",
    ],
)
def test_mchid_is_digits_and_serial_is_hex(credentials: Credentials, mchid: Any, serial: Any, message: str) -> None:
    settings = {"mchid": credentials.mchid if mchid is None else mchid}
    settings["serial"] = credentials.serial if serial is None else serial
    with pytest.raises(ConfigurationError, match=message):
        client_with(credentials, **settings)
    with pytest.raises(ConfigurationError, match=message):
        Signer(settings["mchid"], settings["serial"], credentials.merchant_key)


def test_the_serial_is_kept_in_upper_case(credentials: Credentials) -> None:
    assert client_with(credentials, serial=credentials.serial.lower()).serial == credentials.serial


# -- bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"body": 5}, "body= takes bytes or str, got int"),
        ({"body": {"a": 1}}, r"got dict \(use json= for a dict or list\)"),
        ({"body": [1]}, r"use json="),
        ({"json": '{"a": 1}'}, "already text: pass it as body="),
        ({"json": b'{"a": 1}'}, "already text"),
        ({"json": {"a": 1}, "body": b"x"}, "not both"),
        ({"json": {"a": {1, 2}}}, "cannot be serialised"),
    ],
    ids=["int body", "dict body", "list body", "str json", "bytes json", "both", "a set in json"],
)
async def test_a_body_of_the_wrong_kind_is_refused(
    emulator: Emulator, client: Client, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        await client.chain(NOT_SENT).post(**options)
    assert list(emulator.received) == []


# -- targets: inline queries and placeholders -----------------------------------------------


@pytest.mark.parametrize(
    ("template", "target"),
    [
        ("v3/things?a=b c", "/v3/things?a=b%20c"),
        ("v3/things?a=1\r\nb=2", "/v3/things?a=1%0D%0Ab=2"),
        ("v3/things?q=张三&x=%41", "/v3/things?q=%E5%BC%A0%E4%B8%89&x=%41"),
        ("v3/things?a=100%", "/v3/things?a=100%25"),
    ],
    ids=["space", "CR/LF", "non-ASCII, an escape kept", "a stray %"],
)
async def test_an_inline_query_goes_out_exactly_as_signed(
    emulator: Emulator, client: Client, template: str, target: str
) -> None:
    emulator.stub("GET", NOT_SENT, {"ok": 1})
    response = await client[template].get()
    assert response.request.target == target
    (received,) = emulator.received  # the emulator checked the signature over the target it received
    assert received.target == target


@pytest.mark.parametrize(
    ("template", "values", "options"),
    [
        ("v3/things?a=\udc80", {}, {}),
        ("v3/things/{id}", {"id": "\udc80"}, {}),
        (NOT_SENT, {}, {"query": {"q": "\udc80"}}),
        (NOT_SENT, {}, {"query": {"\udc80": "1"}}),
    ],
    ids=["inline query", "placeholder", "query value", "query name"],
)
def test_a_lone_surrogate_is_a_template_error(
    offline_client: Client, template: str, values: dict[str, Any], options: dict[str, Any]
) -> None:
    with pytest.raises(TemplateError, match="lone surrogate"):
        offline_client.build_request("GET", template, values, options)


# -- timeouts and base URLs -----------------------------------------------------------------


@pytest.mark.parametrize(
    "timeout",
    [math.inf, -1, 0, math.nan, True, "30", aiohttp.ClientTimeout(total=math.inf)],
    ids=["inf", "negative", "zero", "nan", "a bool", "a str", "ClientTimeout(total=inf)"],
)
def test_a_timeout_that_bounds_nothing_is_a_configuration_error(
    credentials: Credentials, offline_client: Client, timeout: Any
) -> None:
    with pytest.raises(ConfigurationError, match=r"[tT]imeout"):
        client_with(credentials, timeout=timeout)
    with pytest.raises(ConfigurationError, match=r"[tT]imeout"):
        offline_client.build_request("GET", NOT_SENT, {}, {"timeout": timeout})


@pytest.mark.parametrize(
    "base_url",
    ["https://user:secret@api.mch.weixin.qq.com/", "https://user@api.mch.weixin.qq.com/", "ftp://x/", "api.mch/", 5],
    ids=["user and password", "user", "another scheme", "no scheme", "not a str"],
)
def test_a_base_url_with_user_info_or_no_scheme_is_a_configuration_error(
    credentials: Credentials, offline_client: Client, base_url: Any
) -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        client_with(credentials, base_url=base_url)
    with pytest.raises(ConfigurationError, match="base_url"):
        offline_client.build_request("GET", NOT_SENT, {}, {"base_url": base_url})
    if isinstance(base_url, str) and "@" in base_url:
        with pytest.raises(ConfigurationError, match="user info") as caught:
            offline_client.build_request("GET", NOT_SENT, {}, {"base_url": base_url})
        assert "secret" not in str(caught.value) and "user@" not in str(caught.value)


def test_a_base_url_without_its_slash_still_works(credentials: Credentials) -> None:
    assert client_with(credentials, base_url="http://127.0.0.1:9/prefix").base_url == "http://127.0.0.1:9/prefix/"
