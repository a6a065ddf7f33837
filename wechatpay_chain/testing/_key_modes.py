"""Which of its keys the emulated WeChat Pay has and signs with: its key mode.

WeChat Pay gives a merchant either platform certificates (the older way), the WeChat Pay public
key (every merchant since late 2024), or both while the merchant moves from one to the other:

- `public-key`: only the public key exists; it signs every answer and notification whatever the
  request names, and `v3/certificates` answers 404 RESOURCE_NOT_EXISTS;
- `certificate`: only platform certificates exist; the newest signs everything;
- `transition`: both exist; the request's `Wechatpay-Serial` picks (the public key when it names
  the `PUB_KEY_ID_…`, else the newest certificate), and notifications follow the latest request.
"""

from __future__ import annotations

from typing import Literal

KeyMode = Literal["public-key", "certificate", "transition"]

KEY_MODES: tuple[KeyMode, ...] = ("public-key", "certificate", "transition")
DEFAULT_KEY_MODE: KeyMode = "public-key"


def key_mode(value: object) -> KeyMode:
    """`value` as a key mode; ValueError naming the choices otherwise."""
    for mode in KEY_MODES:
        if value == mode:
            return mode
    raise ValueError(f"key_mode must be one of {', '.join(KEY_MODES)}, not {value!r}")


def has_certificates(mode: KeyMode) -> bool:
    """Whether a merchant of this mode has platform certificates."""
    return mode != "public-key"


def has_public_key(mode: KeyMode) -> bool:
    """Whether a merchant of this mode has the WeChat Pay public key."""
    return mode != "certificate"


def signs_with_public_key(mode: KeyMode, requested: str | None, public_key_id: str) -> bool:
    """Whether the public key (rather than the newest certificate) signs an answer to a request naming `requested`."""
    if mode == "transition":
        return requested == public_key_id
    return mode == "public-key"
