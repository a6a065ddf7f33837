"""From a call to the exact request: the target, the query, the body and the headers, before any I/O."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import orjson
from multidict import CIMultiDict

from .._config import BaseURL, Timeout, user_agent
from .._errors import ConfigurationError, TemplateError
from .._keys.keyring import normalise_serial
from .._keys.sensitive import Encrypted
from .._models import Request
from .nodes import CALL_OPTIONS
from .template import Template, encode_query, encode_target, is_absolute, parse

if TYPE_CHECKING:
    from ssl import SSLContext

OPTION_NAMES = CALL_OPTIONS | {"placeholders"}
V2_PREFIX = "v2/"  # APIv2 templates are spelled with it; their paths go on the wire without it
# Set from what is sent, never by hand: a Content-Length or Transfer-Encoding of one's own frames
# another body than the one signed, Host moves the request, and Authorization is the signature.
RESERVED_HEADERS = frozenset({"content-length", "transfer-encoding", "host", "authorization"})
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP header name (RFC 9110 token)
_VALUE = re.compile(r"[\t\x20-\x7e]*")  # visible ASCII, spaces and tabs: no CR/LF, no control or non-ASCII

CallCheck = Callable[[str, Template, Mapping[str, object], Mapping[str, Any]], None]
"""Checks a call (method, parsed template, placeholder values, options) before it is built; raises to refuse it."""


class RequestBuilder:
    """Builds requests for one base URL and one set of default headers."""

    def __init__(
        self,
        base_url: BaseURL,
        headers: Mapping[str, str] | None = None,
        *,
        check: CallCheck | None = None,
        certificate: Callable[[], SSLContext] | None = None,
    ) -> None:
        self.base_url = base_url
        self.check = check  # strict mode's check (`_catalogue.strict`), or None
        self.headers: CIMultiDict[str] = CIMultiDict({"Accept": "application/json", "User-Agent": user_agent()})
        self.headers.update(check_headers(headers, "headers"))
        self.certificate = certificate  # the merchant certificate's TLS context, for the calls that need it

    def build(self, method: str, template: str, values: Mapping[str, object], options: Mapping[str, Any]) -> Request:
        """The request a call makes; TemplateError or ConfigurationError on any slip.

        `template` may also be an absolute URL WeChat Pay handed out (a `download_url`): it is sent as
        given, and signed over exactly that target.
        """
        apiv2 = False
        if "//" in template and is_absolute(template):  # a test for "//" first: templates never hold it
            base, path, inline = self._absolute(template, values)
        else:
            parsed = parse(template)
            if not parsed.names.isdisjoint(OPTION_NAMES):
                check_reserved(parsed, values, OPTION_NAMES)
            if self.check is not None:
                self.check(method, parsed, values, options)
            path, inline = parsed.expand(values), parsed.query
            if path.startswith(V2_PREFIX):
                path, apiv2 = path[len(V2_PREFIX) :], True
            base_url = options.get("base_url")
            base = self.base_url if base_url is None else BaseURL.parse(base_url)
        headers = self.headers.copy()
        query, xml = self._apiv2(method, path, options, headers) if apiv2 else (options.get("query"), None)
        if xml is None and options.get("xml") is not None:
            raise ConfigurationError(f"{method} {template}: xml= is for APIv2 calls (templates starting with v2/)")
        json, body_option = options.get("json"), options.get("body") if xml is None else xml
        if json is None and body_option is None:  # most GETs: nothing to encode
            body, sealed_with = b"", None
        else:
            body, sealed_with = encode_body(method, template, json, body_option, headers)
        extra = options.get("headers")
        if extra:
            headers.update(check_headers(extra, f"{method} {template}: headers"))
        if sealed_with is not None:
            _name_key(headers, sealed_with, template)
        request = Request(method, base, path, encode_query(inline, query), template, headers, body)
        # The rarer fields only when given (keyword arguments cost a dataclass twice the positional ones).
        timeout, idempotent, security = options.get("timeout"), options.get("idempotent"), options.get("security")
        if timeout is not None:
            request.timeout = Timeout.of(timeout)
        if idempotent is not None:
            request.idempotent = idempotent
        if apiv2 or security:
            request.ssl = self._tls(f"{method} {template}", path, apiv2, security)
        return request

    def _apiv2(
        self, method: str, path: str, options: Mapping[str, Any], headers: CIMultiDict[str]
    ) -> tuple[Any, bytes | None]:
        from .._v2.requests import encode_call  # loaded with the first APIv2 call

        return encode_call(method, path, options, headers, where=f"{method} v2/{path}")

    def _tls(self, where: str, path: str, apiv2: bool, security: object) -> SSLContext | None:
        """The merchant certificate's context for a call that needs it; ConfigurationError when there is none."""
        from .._v2.requests import needs_certificate

        if not needs_certificate(path if apiv2 else "", security, where):
            return None
        if self.certificate is None:
            raise ConfigurationError(
                f"{where} goes over mutual TLS with the merchant API certificate: create the client with "
                "Client(..., merchant_cert='file:///path/apiclient_cert.pem') (with its private_key), or "
                "merchant_cert='file:///path/apiclient_cert.p12', merchant_cert_password=…"
            )
        return self.certificate()

    def _absolute(self, url: str, values: Mapping[str, object]) -> tuple[BaseURL, str, str]:
        """(base, path, query) of an absolute URL, below the client's base URL when it starts with it."""
        if values:
            raise TemplateError(f"{url!r} is a URL, not a template: it takes no placeholder values ({sorted(values)})")
        if "#" in url:
            raise TemplateError(f"{url!r}: '#' has no place in a request target")
        mine = str(self.base_url)
        if url.startswith(mine):
            base, rest = self.base_url, url[len(mine) :]
        else:
            scheme, _, after = url.partition("://")
            host, _, rest = after.partition("/")
            base = BaseURL.parse(f"{scheme}://{host}/")
        path, _, query = rest.partition("?")
        path, query = encode_target(path, query, repr(url))
        return base, path, query


def check_reserved(template: Template | str, values: Mapping[str, object], reserved: frozenset[str]) -> None:
    """A placeholder named like an option of the call must come through `placeholders=`: refuse it otherwise."""
    if isinstance(template, str):
        if is_absolute(template):
            return
        template = parse(template)
    for name in sorted(template.names & reserved):
        if name not in values:
            raise TemplateError(
                f"template {template.source!r}: placeholder {{{name}}} has the name of the call option {name}=; "
                f"pass its value as placeholders={{{name!r}: …}}"
            )


def check_headers(headers: object, where: str) -> Mapping[str, str]:
    """`headers` if every name is a token and every value ASCII text a request may carry; ConfigurationError else."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise ConfigurationError(
            f"{where} must be a mapping of header names to str values, got {type(headers).__name__}"
        )
    for name, value in headers.items():
        if not isinstance(name, str) or _TOKEN.fullmatch(name) is None:
            raise ConfigurationError(f"{where}: {name!r} is not a header name (letters, digits and -)")
        if name.lower() in RESERVED_HEADERS:
            raise ConfigurationError(
                f"{where}: {name} is set by the client from the request it signs; it cannot be given"
            )
        if not isinstance(value, str):
            raise ConfigurationError(f"{where}: the value of {name} must be a str, got {type(value).__name__}")
        if _VALUE.fullmatch(value) is None:
            raise ConfigurationError(
                f"{where}: the value of {name} holds a line break, a control character or non-ASCII text "
                f"({_shown(value)}); percent-encode or base64 such data"
            )
    return headers


def _shown(value: str) -> str:
    return repr(value[:40]) + ("…" if len(value) > 40 else "")


def encode_body(
    method: str, template: str, json: Any, body: object, headers: CIMultiDict[str]
) -> tuple[bytes, str | None]:
    """The bytes to send (and sign) and, for a JSON body holding `Encrypted` fields, the serial they need."""
    if json is not None and body is not None:
        raise ConfigurationError(f"{method} {template}: pass json= or body=, not both")
    if isinstance(json, (str, bytes, bytearray, memoryview)):
        raise ConfigurationError(
            f"{method} {template}: json= takes the data to send (a dict or list) and serialises it; "
            "this is already text: pass it as body= (with headers={'Content-Type': 'application/json'})"
        )
    if json is not None:
        sealed: set[str] = set()
        try:
            data = orjson.dumps(json, default=_JsonDefault(sealed), option=orjson.OPT_PASSTHROUGH_SUBCLASS)
        except TypeError as exc:
            raise ConfigurationError(f"{method} {template}: json= cannot be serialised ({exc})") from None
        headers["Content-Type"] = "application/json"
        if len(sealed) > 1:
            raise ConfigurationError(
                f"{method} {template}: the body holds fields encrypted with different keys {sorted(sealed)}; "
                "WeChat Pay decrypts a request's fields with the one key its Wechatpay-Serial names"
            )
        return data, sealed.pop() if sealed else None
    if body is None:
        return b"", None
    if isinstance(body, str):
        return body.encode(), None
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body), None
    hint = " (use json= for a dict or list)" if isinstance(body, (dict, list, tuple)) else ""
    raise ConfigurationError(f"{method} {template}: body= takes bytes or str, got {type(body).__name__}{hint}")


class _JsonDefault:
    """orjson's fallback for subclasses of builtins: records the key of each `Encrypted` field."""

    __slots__ = ("sealed",)

    def __init__(self, sealed: set[str]) -> None:
        self.sealed = sealed

    def __call__(self, value: object) -> object:
        if isinstance(value, str):  # str.__str__: the text itself, also for a str-valued Enum
            if isinstance(value, Encrypted):
                self.sealed.add(value.serial)
            return str.__str__(value)
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return float(value)
        if isinstance(value, dict):
            return dict(value)
        if isinstance(value, (list, tuple)):
            return list(value)
        raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def _name_key(headers: CIMultiDict[str], serial: str, template: str) -> None:
    named = headers.get("Wechatpay-Serial")
    if named is None:
        headers["Wechatpay-Serial"] = serial
    elif normalise_serial(named) != normalise_serial(serial):
        raise ConfigurationError(
            f"{template}: the body's encrypted fields were sealed with {serial!r} but the request names "
            f"{named!r} in Wechatpay-Serial; drop the header (it is set from the fields) or encrypt with that key"
        )
