"""APIv2 signing: the string to sign, the `sign` (MD5 or HMAC-SHA256 with the APIv2 key), and the signer middleware.

`sign` = upper-case hex digest over `k1=v1&k2=v2…&key=APIV2_KEY`, the fields sorted by name (byte
order), `sign` itself and empty values left out. The signer signs the fields exactly as the
request carries them: it reads them back from the XML body (or a GET's query) it is about to send.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from urllib.parse import parse_qsl

from .. import _hazmat
from .._errors import ConfigurationError, XmlError
from .._models import Request, Response
from .._secret import Secret
from .._stack.middleware import Handler
from .._types import Query
from . import endpoints, xml

MD5 = "MD5"
HMAC_SHA256 = "HMAC-SHA256"
SIGN_TYPES = (MD5, HMAC_SHA256)
MERCHANT_FIELDS = ("mch_id", "mchid", "combine_mch_id")  # how APIv2 bodies name the merchant


def signing_string(fields: Mapping[str, object]) -> bytes:
    """`k1=v1&k2=v2…` over the text fields sorted by name in byte order, without `sign` and empty values."""
    pairs: list[tuple[bytes, bytes]] = []
    for name, value in fields.items():
        if name == "sign" or value == "":
            continue
        if not isinstance(value, str):
            raise TypeError(f"field {name!r} is not text: a nested element cannot be signed")
        pairs.append((name.encode(), value.encode()))
    return b"&".join(name + b"=" + value for name, value in sorted(pairs))


def sign(fields: Mapping[str, object], key: Secret, sign_type: str = MD5) -> str:
    """The `sign` of `fields` with the APIv2 key: upper-case hex MD5 or HMAC-SHA256."""
    return _hazmat.apiv2_digest(sign_type, signing_string(fields), key.reveal())


def check_sign_type(sign_type: object, where: str) -> str:
    """`sign_type` when it is MD5 or HMAC-SHA256; ConfigurationError otherwise."""
    if sign_type not in SIGN_TYPES:
        raise ConfigurationError(f"{where}: sign_type is 'MD5' or 'HMAC-SHA256', got {sign_type!r}")
    return sign_type


def prepared(
    path: str, fields: Mapping[str, object], *, nonceless: bool | None, nonce: str, where: str
) -> dict[str, object]:
    """The fields a call sends: the caller's, plus `nonce_str` and `sign_type` where the endpoint takes them.

    `nonce_str` is added unless the call or the endpoint is nonceless (or the caller gave one);
    `sign_type` HMAC-SHA256 where the endpoint requires a sign_type (MD5 is refused where it
    takes HMAC-SHA256 only). `sign` is the signer's: a caller's is refused.
    """
    if not isinstance(fields, Mapping):
        raise ConfigurationError(f"{where}: xml= takes a mapping of field names to values, got {type(fields).__name__}")
    if "sign" in fields:
        raise ConfigurationError(f"{where}: sign is computed by the client's APIv2 signer; leave it out of xml=")
    out = dict(fields)
    if "nonce_str" not in out and not (path in endpoints.NONCELESS if nonceless is None else nonceless):
        out["nonce_str"] = nonce
    given = out.get("sign_type")
    if given is None:
        if path in endpoints.HMAC_SHA256 or path in endpoints.SIGN_TYPE_REQUIRED:
            out["sign_type"] = HMAC_SHA256
    elif check_sign_type(given, where) == MD5 and path in endpoints.HMAC_SHA256:
        raise ConfigurationError(f"{where}: this endpoint takes sign_type HMAC-SHA256 only, not MD5")
    return out


def prepared_query(path: str, query: Query | None, *, nonceless: bool | None, nonce: str, where: str) -> Query | None:
    """A v2 GET's query with `nonce_str`/`sign_type` added as for a body (the signer adds `sign`)."""
    if query is None:
        return None
    if not isinstance(query, Mapping):
        raise ConfigurationError(f"{where}: an APIv2 query is signed; pass it as a mapping")
    return prepared(path, query, nonceless=nonceless, nonce=nonce, where=where)


class ApiV2Signer:
    """Middleware adding `sign` to every APIv2 request (`v2/…` templates); APIv3 requests pass untouched.

    The fields signed are read back from the body about to be sent (or a GET's query, or an
    upload's signed fields), so the signature covers exactly what goes out. `sign_type` comes from
    those fields (MD5 when absent). It is the stack's "apiv2-signer": the client's `signer` stays
    the APIv3 one.
    """

    def __init__(self, mchid: str, key: Secret | None) -> None:
        self.mchid = mchid
        self._key = key

    def sign(self, fields: Mapping[str, object], sign_type: str = MD5) -> str:
        """The `sign` of `fields` with this merchant's APIv2 key (for parameters handed to a page or an app)."""
        return sign(fields, self._require_key("signing APIv2 fields"), check_sign_type(sign_type, "sign"))

    def _require_key(self, what: str) -> Secret:
        if self._key is None:
            raise ConfigurationError(
                f"{what} needs the APIv2 key: create the client with "
                "Client(..., apiv2_key='<the 32-character APIv2 key>')"
            )
        return self._key

    def __call__(self, request: Request, call_next: Handler) -> Awaitable[Response]:
        # A plain function: it has nothing to await, and APIv3 calls pass through it on every call.
        if request.api == "v2":
            self._sign(request)
        return call_next(request)

    def _sign(self, request: Request) -> None:
        where = f"{request.method} {request.template}"
        key = self._require_key(where)
        if request.payload is not None:  # an upload: Client.upload signed its form with `sign` already
            if "sign" not in self._fields(request.body, where):
                raise ConfigurationError(f"{where}: send APIv2 uploads with Client.upload, which signs their form")
        elif request.body:
            fields = self._fields(request.body, where)
            if "sign" not in fields:  # a body the caller signed already goes as it is
                fields["sign"] = sign(fields, key, _sign_type(fields, where))
                request.body = xml.dumps(fields)
        elif request.method == "GET" and request.query:
            pairs = dict(parse_qsl(request.query, keep_blank_values=True))
            self._check_merchant(pairs, where)
            if "sign" not in pairs:
                signature = sign(pairs, key, _sign_type(pairs, where))
                request.query = f"{request.query}&sign={signature}"
        else:
            raise ConfigurationError(f"{where}: an APIv2 call sends signed fields: pass xml={{…}} (a GET: query=)")

    def _fields(self, body: bytes, where: str) -> xml.XmlDict:
        try:
            fields = xml.loads(body)
        except XmlError as exc:
            raise ConfigurationError(f"{where}: an APIv2 body is XML; pass the fields as xml={{…}} ({exc})") from None
        self._check_merchant(fields, where)
        return fields

    def _check_merchant(self, fields: Mapping[str, object], where: str) -> None:
        for name in MERCHANT_FIELDS:
            value = fields.get(name)
            if value is not None and value != self.mchid:
                raise ConfigurationError(
                    f"{where}: {name}={value!r} is not this client's merchant {self.mchid!r}; "
                    "its APIv2 key signs for its own merchant id only"
                )

    def __repr__(self) -> str:
        return f"<ApiV2Signer mchid={self.mchid!r} key={'set' if self._key is not None else 'missing'}>"


def _sign_type(fields: Mapping[str, object], where: str) -> str:
    return check_sign_type(fields.get("sign_type", MD5), where)
