"""Client-side payment parameters, each signature verified independently with `cryptography`."""

from __future__ import annotations

import base64
import time

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from wechatpay_chain import Client, ConfigurationError
from wechatpay_chain.testing import Credentials

APPID = "wxd678efh567hg6787"
PREPAY_ID = "wx201410272009395522657a690389285100"


def verify(key: RSAPrivateKey, message: bytes, signature: str) -> None:
    """Raises InvalidSignature unless `signature` is RSA-SHA256 (PKCS#1 v1.5) over `message`."""
    key.public_key().verify(base64.b64decode(signature), message, padding.PKCS1v15(), hashes.SHA256())


async def test_jsapi_params(offline_client: Client, credentials: Credentials) -> None:
    params = await offline_client.jsapi_params(APPID, PREPAY_ID)
    assert list(params) == ["appId", "timeStamp", "nonceStr", "package", "signType", "paySign"]
    assert params["appId"] == APPID and params["package"] == f"prepay_id={PREPAY_ID}"
    assert params["signType"] == "RSA"
    assert abs(int(params["timeStamp"]) - time.time()) < 60
    assert len(params["nonceStr"]) == 32 and params["nonceStr"].isalnum()
    message = f"{APPID}\n{params['timeStamp']}\n{params['nonceStr']}\nprepay_id={PREPAY_ID}\n".encode()
    verify(credentials.merchant_key, message, params["paySign"])
    with pytest.raises(InvalidSignature):  # the check itself can fail
        verify(credentials.merchant_key, message.replace(b"prepay_id=", b"prepay_id=x"), params["paySign"])


async def test_jsapi_params_take_the_whole_package_too(offline_client: Client) -> None:
    a = await offline_client.jsapi_params(
        APPID, PREPAY_ID, timestamp=1414561699, nonce="5K8264ILTKCH16CQ2502SI8ZNMTM67VS"
    )
    b = await offline_client.jsapi_params(APPID, "prepay_id=" + PREPAY_ID, timestamp=1414561699, nonce=a["nonceStr"])
    assert a == b  # and deterministic: PKCS#1 v1.5 signatures do not vary


async def test_app_params(offline_client: Client, credentials: Credentials) -> None:
    params = await offline_client.app_params(APPID, PREPAY_ID)
    assert list(params) == ["appid", "partnerid", "prepayid", "package", "noncestr", "timestamp", "sign"]
    assert params["partnerid"] == credentials.mchid and params["prepayid"] == PREPAY_ID
    assert params["package"] == "Sign=WXPay"
    message = f"{APPID}\n{params['timestamp']}\n{params['noncestr']}\n{PREPAY_ID}\n".encode()
    verify(credentials.merchant_key, message, params["sign"])
    with pytest.raises(InvalidSignature):
        verify(credentials.merchant_key, message.replace(APPID.encode(), b"wx0"), params["sign"])


async def test_app_params_for_a_sub_merchant(offline_client: Client, credentials: Credentials) -> None:
    params = await offline_client.app_params(APPID, PREPAY_ID, partnerid="1230000109", timestamp=1700000000, nonce="n")
    assert params["partnerid"] == "1230000109" and params["timestamp"] == "1700000000"
    verify(credentials.merchant_key, f"{APPID}\n1700000000\nn\n{PREPAY_ID}\n".encode(), params["sign"])


async def test_signed_through_the_clients_signer(offline_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bytes] = []

    async def hsm_sign(message: bytes) -> str:
        seen.append(message)
        return "signed-elsewhere"

    monkeypatch.setattr(offline_client.signer, "sign", hsm_sign)
    params = await offline_client.jsapi_params(APPID, PREPAY_ID, timestamp=1, nonce="n")
    assert params["paySign"] == "signed-elsewhere"
    assert seen == [f"{APPID}\n1\nn\nprepay_id={PREPAY_ID}\n".encode()]


@pytest.mark.parametrize(
    ("appid", "prepay_id", "options", "fragment"),
    [
        ("", PREPAY_ID, {}, "appid"),
        (APPID, "  ", {}, "prepay_id"),
        (APPID, PREPAY_ID, {"timestamp": -5}, "timestamp"),
        (APPID, PREPAY_ID, {"timestamp": "1700000000"}, "timestamp"),
    ],
)
async def test_bad_input(
    offline_client: Client, appid: str, prepay_id: str, options: dict[str, object], fragment: str
) -> None:
    for builder in (offline_client.jsapi_params, offline_client.app_params):
        with pytest.raises(ConfigurationError, match=fragment):
            await builder(appid, prepay_id, **options)  # type: ignore[arg-type]
