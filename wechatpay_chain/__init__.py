"""wechatpay_chain: an asyncio SDK for the WeChat Pay API, every endpoint through one chain.

async with Client(mchid, serial, private_key, certs) as wxpay:
    r = await wxpay.v3.pay.transactions.id._transaction_id_.get(transaction_id="…", query={…})
"""

from ._certificates import CertificateStore, PlatformKey
from ._chain import Chain
from ._client import Client
from ._errors import (
    ApiError,
    ConfigurationError,
    KeyLoadError,
    SignatureError,
    TemplateError,
    TransportError,
    WechatpayError,
)
from ._keys import load_private_key, load_public_key
from ._middleware import Handler, Middleware, MiddlewareStack
from ._models import Request, Response
from ._signing import Signer, authorization, signing_message
from ._verification import Verifier, is_unsigned_download, verification_message
from ._version import __version__

__all__ = [
    "ApiError",
    "CertificateStore",
    "Chain",
    "Client",
    "ConfigurationError",
    "Handler",
    "KeyLoadError",
    "Middleware",
    "MiddlewareStack",
    "PlatformKey",
    "Request",
    "Response",
    "SignatureError",
    "Signer",
    "TemplateError",
    "TransportError",
    "Verifier",
    "WechatpayError",
    "__version__",
    "authorization",
    "is_unsigned_download",
    "load_private_key",
    "load_public_key",
    "signing_message",
    "verification_message",
]
