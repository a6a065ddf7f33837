"""APIv2 answers: the `sign` check (either type), `FAIL` turned into ApiError, and the verifier middleware.

An XML answer is read safely, then: `return_code` FAIL raises ApiError; a `sign` is verified (MD5
or HMAC-SHA256, told by `sign_type` or by its length) and required unless the endpoint documents
none; `result_code` FAIL raises ApiError with `err_code` and `err_code_des`. Files (bills), pages
and JSON answers pass untouched; a streamed download is checked by the code that reads it.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Mapping

from .._errors import Answer, ApiError, SignatureError
from .._models import Request, Response
from .._secret import Secret
from .._stack.middleware import Handler
from . import endpoints, xml
from .signing import HMAC_SHA256, MD5, sign

_SIGN_LENGTHS = {32: MD5, 64: HMAC_SHA256}


def sign_type_of(fields: Mapping[str, object]) -> str | None:
    """The algorithm a signed document used: its `sign_type`, else told by the length of `sign`."""
    named = fields.get("sign_type")
    if named in (MD5, HMAC_SHA256):
        return str(named)
    signature = fields.get("sign")
    return _SIGN_LENGTHS.get(len(signature)) if named is None and isinstance(signature, str) else None


def verify(fields: Mapping[str, object], key: Secret, *, required: bool = True, response: Answer | None = None) -> None:
    """Check the `sign` of a document against the APIv2 key; SignatureError naming the check otherwise.

    With `required=False` a document without `sign` passes (an endpoint that documents none).
    """
    signature = fields.get("sign")
    if signature is None:
        if required:
            raise SignatureError("the APIv2 answer carries no sign", check="sign", response=response)
        return
    sign_type = sign_type_of(fields)
    if sign_type is None or not isinstance(signature, str):
        raise SignatureError(
            f"the sign_type {fields.get('sign_type')!r} (or the length of sign) names no APIv2 algorithm",
            check="sign-type",
            response=response,
        )
    try:
        expected = sign(fields, key, sign_type)
    except TypeError as exc:
        raise SignatureError(str(exc), check="signature", response=response) from None
    if not hmac.compare_digest(expected, signature.upper()):
        raise SignatureError(
            f"the {sign_type} sign does not verify with the APIv2 key", check="signature", response=response
        )


def check_answer(fields: xml.XmlDict, key: Secret, request: Request, response: Response) -> None:
    """Raise ApiError for a `FAIL`, SignatureError for a missing or wrong `sign`; return for a good answer."""
    if fields.get("return_code") != "SUCCESS" or not response.ok:
        raise ApiError(response, attempts=request.attempt, fields=fields)
    verify(fields, key, required=request.path not in endpoints.UNSIGNED_ANSWERS, response=response)
    if "result_code" in fields and fields["result_code"] != "SUCCESS":
        raise ApiError(response, attempts=request.attempt, fields=fields)


class ApiV2Verifier:
    """Middleware checking every APIv2 XML answer (see the module); APIv3 answers pass untouched.

    It is the stack's "apiv2-verifier"; the client's `verifier` stays the APIv3 one.
    """

    def __init__(self, key: Secret | None) -> None:
        self._key = key

    def __call__(self, request: Request, call_next: Handler) -> Awaitable[Response]:
        if request.api != "v2":  # handed on as is: APIv3 calls pay no coroutine of this middleware's
            return call_next(request)
        return self._checked(request, call_next)

    async def _checked(self, request: Request, call_next: Handler) -> Response:
        response = await call_next(request)
        if response.stream is not None or not xml.looks_like_xml(response.body):
            return response
        fields = xml.loads(response.body)
        if self._key is None:  # the signer refuses every v2 call without a key: only a stack built by hand gets here
            raise SignatureError("no APIv2 key to verify the answer with", check="key", response=response)
        check_answer(fields, self._key, request, response)
        return response

    def __repr__(self) -> str:
        return "<ApiV2Verifier>"
