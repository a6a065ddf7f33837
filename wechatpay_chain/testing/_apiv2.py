"""APIv2 on the wire: XML bodies (or a GET's query, or an upload's form) signed with the APIv2 key.

A request passes when it carries this merchant's id, a `nonce_str` where the endpoint takes one,
a valid `sign_type` and a `sign` (MD5 or HMAC-SHA256) that verifies; the calls that need the
merchant certificate must also have come over TLS with a certificate the emulator's CA issued to
this merchant. A refusal is answered as WeChat Pay does: HTTP 200, `return_code` FAIL and its
`return_msg`. Answers are XML; a `SUCCESS` one is signed with the request's sign type, except
where the endpoint documents no `sign` (files, pages and a few XML answers).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any, Protocol

from aiohttp.payload import Payload

from .. import _hazmat
from .._errors import XmlError
from .._secret import Secret
from .._v2 import endpoints, xml
from .._v2.signing import HMAC_SHA256, MD5, MERCHANT_FIELDS, SIGN_TYPES, sign
from ._credentials import Credentials
from ._http import Answer, Incoming, Refusal
from ._multipart import form_parts
from ._tls import common_name
from ._wire import FaultParams

XML_TYPE = "text/xml; charset=utf-8"
ECHOED = ("appid", "mch_id", "mchid", "sub_appid", "sub_mch_id", "combine_mch_id")  # answered back as sent
CA_ERROR = "CA证书出错，请登录微信支付商户平台下载证书"


class Platform(Protocol):
    """What the APIv2 wire reads of the emulator, live."""

    credentials: Credentials
    tls: bool


def wire_path(incoming: Incoming) -> str:
    """The request's path as APIv2 templates name it, without `v2/` (e.g. `secapi/pay/refund`)."""
    return "/".join(incoming.segments)


def request_fields(incoming: Incoming) -> dict[str, str]:
    """The fields a request signs: its XML body, a GET's query, or an upload's form fields (not the file)."""
    content_type = incoming.headers.get("Content-Type", "")
    if content_type.startswith("multipart/form-data"):
        parts = form_parts(content_type, incoming.body)
        return {name: part.content.decode("utf-8", "replace") for name, part in parts.items() if part.filename is None}
    if incoming.method == "GET":
        return dict(incoming.query)
    try:
        fields = xml.loads(incoming.body)
    except XmlError as exc:
        raise fail(f"XML格式错误 ({exc})") from None
    if not all(isinstance(value, str) for value in fields.values()):
        raise fail("XML格式错误 (nested elements)")
    return dict(fields)


def fail(message: str, **extra: str) -> Refusal:
    """A refusal answered `return_code` FAIL with `message` as its `return_msg` (and `extra` fields)."""
    return Refusal(200, "FAIL", message, extra or None)


def business(err_code: str, err_code_des: str) -> Answer:
    """A refusal of the business: `result_code` FAIL with `err_code` and `err_code_des` (signed)."""
    return Answer(200, {"result_code": "FAIL", "err_code": err_code, "err_code_des": err_code_des})


def lack_params(name: str) -> Answer:
    """A call without a field it needs, as WeChat Pay words it: `LACK_PARAMS`, `缺少参数<name>`."""
    return business("LACK_PARAMS", f"缺少参数{name}")


def bad_param(name: str, issue: str) -> Answer:
    """A field that is not as documented: `PARAM_ERROR`, `<name>参数错误: <issue>`."""
    return business("PARAM_ERROR", f"{name}参数错误: {issue}")


class ApiV2:
    """The APIv2 `Wire` of one emulated platform."""

    def __init__(self, platform: Platform) -> None:
        self._platform = platform

    def authenticate(self, incoming: Incoming) -> None:
        """Check the request as WeChat Pay does; Refusal (return_code FAIL) naming the failed check."""
        path = wire_path(incoming)
        if path in endpoints.CERTIFICATE:
            self._check_certificate(incoming, path)
        fields = request_fields(incoming)
        creds = self._platform.credentials
        merchant = next((name for name in MERCHANT_FIELDS if name in fields), None)
        if merchant is None:
            raise fail("缺少参数mch_id")
        if fields[merchant] != creds.mchid:
            raise fail(f"商户号{merchant}不存在: {fields[merchant]}")
        if path not in endpoints.NONCELESS and not fields.get("nonce_str"):
            raise fail("缺少参数nonce_str")
        if len(fields.get("nonce_str", "")) > 32:
            raise fail("nonce_str参数长度有误")
        sign_type = fields.get("sign_type", MD5)
        if sign_type not in SIGN_TYPES:
            raise fail(f"sign_type参数错误: {sign_type}")
        if sign_type != HMAC_SHA256 and path in endpoints.HMAC_SHA256:
            raise fail("签名类型错误，本接口仅支持HMAC-SHA256")
        if "sign" not in fields:
            if path in endpoints.UNSIGNED_REQUESTS:
                return
            raise fail("缺少参数sign")
        if sign(fields, self._key(), sign_type) != fields["sign"]:
            raise fail("签名错误")
        if "media_hash" in fields:
            self._check_media(incoming, fields["media_hash"])

    def _check_certificate(self, incoming: Incoming, path: str) -> None:
        if not self._platform.tls:
            hint = (
                f"v2/{path} needs the merchant certificate, which plain HTTP cannot carry: start the emulator "
                "with TLS (Emulator(tls=True), wechatpay-chain mock --tls)"
            )
            raise Refusal(200, "CA_ERROR", CA_ERROR, {"err_code": "CA_ERROR", "err_code_des": hint})
        holder = common_name(incoming.client_certificate)
        if holder != self._platform.credentials.mchid:
            told = "请求未携带证书" if holder is None else f"证书不属于本商户 (issued to {holder})"
            raise Refusal(200, "CA_ERROR", CA_ERROR, {"err_code": "CA_ERROR", "err_code_des": told})

    def _check_media(self, incoming: Incoming, media_hash: str) -> None:
        media = form_parts(incoming.headers.get("Content-Type", ""), incoming.body).get("media")
        if media is None or hashlib.md5(media.content).hexdigest() != media_hash.lower():
            raise fail("media_hash与上传的文件不一致")

    def _key(self) -> Secret:
        return Secret(self._platform.credentials.apiv2_key.encode())

    def seal(self, incoming: Incoming, answer: Answer, faults: FaultParams) -> tuple[dict[str, str], bytes | Payload]:
        """XML for a mapping (signed when SUCCESS, where the endpoint signs); files go as they are."""
        headers = dict(answer.headers)
        if isinstance(answer.body, Payload):
            return headers, answer.body
        if isinstance(answer.body, (bytes, bytearray)):
            return headers, bytes(answer.body)
        fields = self._fields(incoming, answer.body, faults)
        headers["Content-Type"] = XML_TYPE
        return headers, xml.dumps(fields, nested=True)

    def _fields(self, incoming: Incoming, body: Mapping[str, Any] | None, faults: FaultParams) -> dict[str, Any]:
        body = dict(body or {})
        if "return_code" not in body and "code" in body:  # a refusal: return_code FAIL, as WeChat Pay words it
            detail = body.get("detail")
            extra: dict[str, Any] = detail if isinstance(detail, dict) else {}
            return {"return_code": "FAIL", "return_msg": body.get("message", ""), **extra}
        if body.get("return_code", "SUCCESS") != "SUCCESS":
            return body
        try:
            asked = request_fields(incoming)
        except Refusal:
            asked = {}
        fields: dict[str, Any] = {"return_code": "SUCCESS", "return_msg": "OK"}
        fields.update({name: asked[name] for name in ECHOED if name in asked})
        fields.update(body)
        if wire_path(incoming) not in endpoints.UNSIGNED_ANSWERS:
            fields.setdefault("nonce_str", _hazmat.nonce())
            sign_type = asked.get("sign_type", MD5) if asked.get("sign_type") in SIGN_TYPES else MD5
            text = {name: str(value) for name, value in fields.items()}
            if "bad_signature" in faults:
                text["return_msg"] += " "  # signed over other text than is sent
            fields["sign"] = sign(text, self._key(), sign_type)
        return fields


def v2_payment_notification(fields: Mapping[str, Any], apiv2_key: str, sign_type: str = MD5) -> bytes:
    """The XML body of a payment result: `fields` (None left out) with `nonce_str` and their `sign`."""
    out = {name: str(value) for name, value in fields.items() if value is not None}
    out.setdefault("return_code", "SUCCESS")
    out.setdefault("nonce_str", _hazmat.nonce())
    if sign_type != MD5:
        out["sign_type"] = sign_type
    out["sign"] = sign(out, Secret(apiv2_key.encode()), sign_type)
    return xml.dumps(out)


def v2_refund_notification(refund: Mapping[str, Any], apiv2_key: str, **fields: str) -> bytes:
    """The XML body of a refund result: `refund` sealed in `req_info` (AES-256-ECB, keyed with MD5 of the APIv2 key)."""
    key = hashlib.md5(apiv2_key.encode()).hexdigest().encode()
    sealed = _hazmat.ecb_encrypt(key, xml.dumps(refund, root="root"))
    body = {"return_code": "SUCCESS", **fields, "nonce_str": _hazmat.nonce()}
    return xml.dumps({**body, "req_info": base64.b64encode(sealed).decode()})
