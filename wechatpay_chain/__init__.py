"""wechatpay_chain: an asyncio SDK for the WeChat Pay API, every endpoint through one chain.

async with Client(mchid, serial, private_key, certs) as wxpay:
    r = await wxpay.v3.pay.transactions.id._transaction_id_.get(transaction_id="…", query={…})
"""

from typing import TYPE_CHECKING

from ._certificates import CertificateRefresher
from ._chain import Chain
from ._client import Client
from ._config import BaseURL, Timeout
from ._downloads import Downloaded, DownloadError, FileStream
from ._errors import (
    ApiError,
    ConfigurationError,
    DuplicateNotificationError,
    KeyLoadError,
    NotificationError,
    SignatureError,
    TemplateError,
    TransportError,
    WechatpayError,
)
from ._events import (
    ContractTerminateInfo,
    Event,
    GenericEvent,
    InsuranceContractEvent,
    InsurancePolicyGrantedEvent,
    PowerBankInsuranceEvent,
    event_for,
)
from ._keyring import KeyRing, PlatformKey
from ._keys import load_private_key, load_public_key
from ._logging import CallLogger
from ._middleware import Handler, Middleware, MiddlewareStack
from ._models import BodyStream, Request, Response
from ._notifications import KeyHolder, Notification, NotificationParser, parse_notification
from ._retry import RetryPolicy
from ._secret import Secret
from ._seen_ids import MemorySeenIds, SeenIds
from ._sensitive import Encrypted
from ._signing import Signer, authorization, signing_message
from ._types import (
    BillOptions,
    DownloadOptions,
    HeadersInput,
    PrivateKeyInput,
    ProgressCallback,
    PublicKeyInput,
    Query,
    SigningKey,
    TimeoutTypes,
    UploadSource,
)
from ._verification import Verifier, is_unsigned_download, verification_message
from ._version import __version__
from ._webhooks import AsgiWebhook, WebhookEndpoint, asgi_app, handler_for

if TYPE_CHECKING:
    from ._signing_pool import ProcessPoolSigner


def __getattr__(name: str) -> object:
    # Loaded on first use: signing in worker processes brings in multiprocessing.
    if name == "ProcessPoolSigner":
        from ._signing_pool import ProcessPoolSigner

        return ProcessPoolSigner
    raise AttributeError(f"module 'wechatpay_chain' has no attribute {name!r}")


__all__ = [
    "ApiError",
    "AsgiWebhook",
    "BaseURL",
    "BillOptions",
    "BodyStream",
    "CallLogger",
    "CertificateRefresher",
    "Chain",
    "Client",
    "ConfigurationError",
    "ContractTerminateInfo",
    "DownloadError",
    "DownloadOptions",
    "Downloaded",
    "DuplicateNotificationError",
    "Encrypted",
    "Event",
    "FileStream",
    "GenericEvent",
    "Handler",
    "HeadersInput",
    "InsuranceContractEvent",
    "InsurancePolicyGrantedEvent",
    "KeyHolder",
    "KeyLoadError",
    "KeyRing",
    "MemorySeenIds",
    "Middleware",
    "MiddlewareStack",
    "Notification",
    "NotificationError",
    "NotificationParser",
    "PlatformKey",
    "PowerBankInsuranceEvent",
    "PrivateKeyInput",
    "ProcessPoolSigner",
    "ProgressCallback",
    "PublicKeyInput",
    "Query",
    "Request",
    "Response",
    "RetryPolicy",
    "Secret",
    "SeenIds",
    "SignatureError",
    "Signer",
    "SigningKey",
    "TemplateError",
    "Timeout",
    "TimeoutTypes",
    "TransportError",
    "UploadSource",
    "Verifier",
    "WebhookEndpoint",
    "WechatpayError",
    "__version__",
    "asgi_app",
    "authorization",
    "event_for",
    "handler_for",
    "is_unsigned_download",
    "load_private_key",
    "load_public_key",
    "parse_notification",
    "signing_message",
    "verification_message",
]
