"""APIv2 uploads (`v2/secapi/mch/uploadmedia`): a form of signed fields, `media_hash` (MD5) and the file `media`.

The signature covers the form's fields (not the file, which `media_hash` stands for). The form is
signed with the stack's "apiv2-signer" before it is sent; the request's `body` holds the same
fields as XML, so the signer, the log and the emulator see what was signed.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from aiohttp import MultipartWriter
from aiohttp.payload import BytesPayload, Payload

from .. import _hazmat
from .._errors import ConfigurationError
from .._files.uploads import Execute, check_upload, opened
from .._models import Request, Response
from .._types import UploadSource
from . import xml
from .signing import MD5, prepared

Sign = Callable[[Mapping[str, object], str], str]
"""The stack's APIv2 signer: `sign(fields, sign_type)`."""
FILE_PART = "media"


async def upload_media(
    execute: Execute,
    sign: Sign,
    request: Request,
    file: UploadSource,
    *,
    filename: str | None,
    fields: Mapping[str, Any] | None,
    content_type: str | None,
) -> Response:
    """Send `file` with the signed form fields (`fields` plus its `media_hash`) to an APIv2 upload endpoint."""
    name = check_upload(file, filename, None)
    given = dict(fields or {})
    if "media_hash" in given:
        raise ConfigurationError("meta= cannot set media_hash: it is the MD5 of the file, computed")
    async with opened(file, "md5") as (payload, md5):
        where = f"POST {request.template}"
        signed = prepared(
            request.path, {**given, "media_hash": md5}, nonceless=None, nonce=_hazmat.nonce(), where=where
        )
        text = {key: str(value) for key, value in signed.items() if value is not None}
        text["sign"] = sign(text, text.get("sign_type", MD5))
        form = _form(text, payload, name, content_type)
        headers = request.headers.copy()
        headers["Content-Type"] = form.content_type
        return await execute(replace(request, body=xml.dumps(text), payload=form, headers=headers))


def _form(fields: Mapping[str, str], media: Payload, filename: str, content_type: str | None) -> MultipartWriter:
    form = MultipartWriter("form-data")
    for key, value in fields.items():
        part = BytesPayload(value.encode(), content_type="text/plain")
        part.set_content_disposition("form-data", name=key)
        form.append_payload(part)
    media.headers["Content-Type"] = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    media.set_content_disposition("form-data", quote_fields=False, name=FILE_PART, filename=filename)
    form.append_payload(media)
    return form
