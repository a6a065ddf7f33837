"""Hypothesis strategies that break genuine inputs, and the fragments of secrets no message may quote."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from hypothesis import strategies as st

from wechatpay_chain.testing import Credentials

HEADER_NAMES = (
    "Wechatpay-Timestamp",
    "Wechatpay-Nonce",
    "Wechatpay-Signature",
    "Wechatpay-Serial",
    "Wechatpay-Signature-Type",
)


def b64(data: bytes) -> str:
    """`data` in standard base64, as text."""
    return base64.b64encode(data).decode("ascii")


def key_file(folder: Path, exists: bool, data: bytes) -> str:
    """A file:// key location: a file holding `data`, or one that does not exist."""
    path = folder / "key.pem"
    if exists:
        path.write_bytes(data)
        return f"file://{path}"
    return f"file://{folder / 'missing.pem'}"


def mutated(data: bytes) -> st.SearchStrategy[bytes]:
    """`data` with a byte flipped, cut short, or with bytes inserted or deleted."""
    n = len(data)
    return st.one_of(
        st.tuples(st.integers(0, n - 1), st.integers(1, 255)).map(
            lambda t: data[: t[0]] + bytes([data[t[0]] ^ t[1]]) + data[t[0] + 1 :]
        ),
        st.integers(0, n - 1).map(lambda i: data[:i]),
        st.tuples(st.integers(0, n), st.binary(min_size=1, max_size=8)).map(
            lambda t: data[: t[0]] + t[1] + data[t[0] :]
        ),
        st.tuples(st.integers(0, n - 1), st.integers(1, 16)).map(lambda t: data[: t[0]] + data[t[0] + t[1] :]),
    )


def mutated_headers(headers: dict[str, str]) -> st.SearchStrategy[dict[str, str]]:
    """The genuine headers with one of them changed, dropped or replaced by random text."""

    def change(case: tuple[str, str | None]) -> dict[str, str]:
        name, value = case
        out = dict(headers)
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
        return out

    edits = st.one_of(st.none(), st.text(max_size=60), st.sampled_from(list(headers.values())))
    return st.tuples(st.sampled_from(HEADER_NAMES), edits).map(change)


def secret_fragments(credentials: Credentials, width: int = 24) -> list[str]:
    """Pieces of every secret of `credentials` as they could show in text: key base64 and numbers, the API keys.

    The APIv2 key's MD5 (the key of refund notifications) counts as the key itself.
    """
    apiv2_aes_key = hashlib.md5(credentials.apiv2_key.encode()).hexdigest()
    texts: list[str] = [credentials.apiv3_key, credentials.apiv2_key, apiv2_aes_key]
    for key in (credentials.merchant_key, credentials.public_key, *(p.key for p in credentials.platform)):
        for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
            der = key.private_bytes(serialization.Encoding.DER, fmt, serialization.NoEncryption())
            texts.append(b64(der))
        numbers = key.private_numbers()
        texts += [str(numbers.d), f"{numbers.d:x}", str(numbers.p), f"{numbers.p:x}"]
    return [text[i : i + width] for text in texts for i in range(0, max(1, len(text) - width + 1), width // 2)]
