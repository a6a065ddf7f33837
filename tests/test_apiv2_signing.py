"""APIv2 signing: the official vectors, the fields signed as sent, nonce and sign_type rules, the three styles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from wechatpay_chain import ApiV2Signer, Client, ConfigurationError, Secret, SignatureError
from wechatpay_chain._v2.signing import prepared, sign, signing_string
from wechatpay_chain._v2.verification import verify
from wechatpay_chain._v2.xml import loads
from wechatpay_chain.testing import Answer, Credentials, Emulator, Incoming

if TYPE_CHECKING:
    from wechatpay_chain.endpoints import V2PayOrderqueryPostXml as OrderQuery

# PROTOCOL.md, APIv2: the official documentation's example.
VECTOR = {
    "appid": "wxd930ea5d5a258f4f",
    "mch_id": "10000100",
    "device_info": "1000",
    "body": "test",
    "nonce_str": "ibuaiVcKdpRxkhJA",
}
VECTOR_KEY = Secret(b"192006250b4c09247ec02edce69f6a2d")
VECTOR_STRING = b"appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA"
APPID = "wxd678efh567hg6787"


def test_the_official_vectors() -> None:
    assert signing_string(VECTOR) == VECTOR_STRING
    assert sign(VECTOR, VECTOR_KEY, "MD5") == "9A0A8659F005D6984697E2CA0A9CF3B7"
    assert sign(VECTOR, VECTOR_KEY, "HMAC-SHA256") == "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"


def test_sign_and_empty_values_are_left_out_and_names_sort_by_bytes() -> None:
    assert signing_string({**VECTOR, "sign": "X", "attach": ""}) == VECTOR_STRING
    assert signing_string({"b": "1", "B": "2", "_": "3", "a_b": "4", "ab": "5"}) == b"B=2&_=3&a_b=4&ab=5&b=1"


@pytest.mark.parametrize("sign_type", ["MD5", "HMAC-SHA256"])
def test_either_type_verifies_and_a_change_breaks_it(sign_type: str) -> None:
    signed = {**VECTOR, "sign_type": sign_type}
    signed["sign"] = sign(signed, VECTOR_KEY, sign_type)
    verify(signed, VECTOR_KEY)
    untyped = {**VECTOR, "sign": sign(VECTOR, VECTOR_KEY, sign_type)}  # told by the length of sign
    verify(untyped, VECTOR_KEY)
    with pytest.raises(SignatureError) as caught:
        verify({**signed, "body": "tset"}, VECTOR_KEY)
    assert caught.value.check == "signature"
    with pytest.raises(SignatureError) as caught:
        verify(signed, Secret(b"0" * 32))
    assert caught.value.check == "signature"


def test_a_missing_or_unnamed_sign_is_refused() -> None:
    with pytest.raises(SignatureError) as caught:
        verify(VECTOR, VECTOR_KEY)
    assert caught.value.check == "sign"
    verify(VECTOR, VECTOR_KEY, required=False)
    with pytest.raises(SignatureError) as caught:
        verify({**VECTOR, "sign": "ABC"}, VECTOR_KEY)
    assert caught.value.check == "sign-type"


def test_nonce_and_sign_type_are_added_where_the_endpoint_takes_them() -> None:
    def prep(path: str, fields: dict[str, Any], nonceless: bool | None = None) -> dict[str, object]:
        return prepared(path, fields, nonceless=nonceless, nonce="N" * 32, where=path)

    assert prep("pay/micropay", {"mch_id": "1"}) == {"mch_id": "1", "nonce_str": "N" * 32}
    assert prep("pay/micropay", {"nonce_str": "mine"}) == {"nonce_str": "mine"}
    assert prep("pay/micropay", {"mch_id": "1"}, nonceless=True) == {"mch_id": "1"}
    assert prep("papay/querycontract", {"mch_id": "1"}) == {"mch_id": "1"}  # documented without a nonce
    assert prep("papay/querycontract", {}, nonceless=False) == {"nonce_str": "N" * 32}
    # HMAC-SHA256 only: named for the caller; MD5 refused
    assert prep("pay/profitsharingquery", {})["sign_type"] == "HMAC-SHA256"
    with pytest.raises(ConfigurationError, match="HMAC-SHA256 only"):
        prep("pay/profitsharingquery", {"sign_type": "MD5"})
    assert prep("pay/micropay", {"sign_type": "MD5"})["sign_type"] == "MD5"
    with pytest.raises(ConfigurationError, match="sign_type"):
        prep("pay/micropay", {"sign_type": "SHA1"})
    with pytest.raises(ConfigurationError, match="sign is computed"):
        prep("pay/micropay", {"sign": "X"})


def test_the_signer_signs_fields_handed_to_it_and_hides_its_key(credentials: Credentials) -> None:
    signer = ApiV2Signer("1900000109", Secret(credentials.apiv2_key.encode()))
    assert signer.sign(VECTOR) == sign(VECTOR, Secret(credentials.apiv2_key.encode()))
    assert "key=set" in repr(signer) and credentials.apiv2_key not in repr(signer)


async def test_three_styles_send_the_same_signed_fields(emulator: Emulator, client: Client) -> None:
    emulator.stub("POST", "v2/pay/orderquery", _echo)
    fields: OrderQuery = {"appid": APPID, "mch_id": client.mchid, "out_trade_no": "T-1"}
    nodes = (client.v2.pay.orderquery, client.chain("v2/pay/orderquery"), client["v2/pay/orderquery"])
    for node in nodes:
        answer = (await node.post(xml=fields)).xml()
        assert answer["out_trade_no"] == "T-1" and answer["result_code"] == "SUCCESS"
    assert len(emulator.received) == 3
    key = Secret(emulator.credentials.apiv2_key.encode())
    for received in emulator.received:
        assert received.target == "/pay/orderquery"  # the v2/ prefix never goes on the wire
        assert received.headers["Content-Type"].startswith("text/xml")
        assert "Authorization" not in received.headers and "Wechatpay-Serial" not in received.headers
        sent = loads(received.body)
        assert {k: sent[k] for k in fields} == fields  # the caller's fields as given
        assert len(sent["nonce_str"]) == 32 and "sign_type" not in sent
        assert sent["sign"] == sign(sent, key, "MD5")  # over the fields as sent
    nonces = {loads(r.body)["nonce_str"] for r in emulator.received}
    assert len(nonces) == 3


async def test_hmac_sha256_is_signed_and_answered_with_hmac(emulator: Emulator, client: Client) -> None:
    emulator.stub("POST", "v2/pay/orderquery", _echo)
    answer = await client.chain("v2").pay.orderquery.post(xml={"mch_id": client.mchid, "sign_type": "HMAC-SHA256"})
    sent = loads(emulator.received[-1].body)
    assert len(sent["sign"]) == 64 and sent["sign_type"] == "HMAC-SHA256"
    assert len(answer.xml()["sign"]) == 64  # the emulator answers in the request's sign type


async def test_a_get_query_is_signed(emulator: Emulator, client: Client) -> None:
    emulator.stub("GET", "v2/papay/h5entrustweb", _echo)
    query = {"appid": APPID, "mch_id": client.mchid, "plan_id": "12535", "contract_code": "C 1/中"}
    await client.chain("v2").papay.h5entrustweb.get(query=query)
    received = emulator.received[-1]
    assert received.target.endswith("&sign=" + received.target.rpartition("sign=")[2])
    assert "nonce_str" not in received.target  # documented without a nonce


async def test_apiv3_calls_are_left_to_the_apiv3_signer(emulator: Emulator, client: Client) -> None:
    emulator.stub("GET", "v3/ping", {"ok": 1})
    assert (await client["v3/ping"].get()).json() == {"ok": 1}
    received = emulator.received[-1]
    assert received.headers["Authorization"].startswith("WECHATPAY2-SHA256-RSA2048")
    assert received.body == b""


async def test_xml_is_for_apiv2_calls_and_alone(client: Client) -> None:
    with pytest.raises(ConfigurationError, match="xml= is for APIv2"):
        await client["v3/ping"].post(xml={"a": "1"})
    with pytest.raises(ConfigurationError, match="xml= alone"):
        await client.chain("v2").pay.micropay.post(xml={"a": "1"}, json={"a": 1})
    with pytest.raises(ConfigurationError, match="not this client's merchant"):
        await client.chain("v2").pay.micropay.post(xml={"mch_id": "1230000109"})
    with pytest.raises(ConfigurationError, match="an APIv2 body is XML"):
        await client.chain("v2").pay.micropay.post(body=b'{"mch_id": 1}')
    with pytest.raises(ConfigurationError, match="sends signed fields"):
        await client.chain("v2").pay.micropay.post()


def _echo(incoming: Incoming) -> Answer:
    fields = loads(incoming.body) if incoming.body else {}
    return Answer(200, {"result_code": "SUCCESS", "out_trade_no": fields.get("out_trade_no", "")})
