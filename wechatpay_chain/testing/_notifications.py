"""Building the notifications the emulated WeChat Pay sends: envelope, AEAD resource, signed headers."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from .. import _hazmat
from ._auth import sign_answer
from ._time import rfc3339


def build_notification(
    *,
    apiv3_key: str,
    signing_key: RSAPrivateKey,
    serial: str,
    event_type: str,
    summary: str,
    original_type: str,
    resource: dict[str, Any],
    now: float,
    notification_id: str | None = None,
    associated_data: str | None = None,
) -> tuple[dict[str, str], bytes]:
    """The signed headers and raw body of one notification, exactly as WeChat Pay POSTs it."""
    nonce = _hazmat.nonce(12)
    aad = original_type if associated_data is None else associated_data
    envelope = {
        "id": notification_id or str(uuid.uuid4()),
        "create_time": rfc3339(now),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": summary,
        "resource": {
            "original_type": original_type,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": _hazmat.aead_encrypt(apiv3_key.encode(), nonce, aad, orjson.dumps(resource)),
            "associated_data": aad,
            "nonce": nonce,
        },
    }
    body = orjson.dumps(envelope)
    headers = {"Content-Type": "application/json", **sign_answer(signing_key, serial, body, int(now))}
    return headers, body
