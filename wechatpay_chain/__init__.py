"""wechatpay_chain: an asyncio SDK for the WeChat Pay API, every endpoint through one chain.

async with Client(mchid, serial, private_key, certs) as wxpay:
    r = await wxpay.v3.pay.transactions.id._transaction_id_.get(transaction_id="…", query={…})
"""

from ._certificates import CertificateStore, PlatformKey
from ._chain import Chain
from ._client import Client
from ._downloads import Downloaded, DownloadError, FileStream, ProgressCallback
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
from ._keys import load_private_key, load_public_key
from ._logging import CallLogger
from ._media import UploadSource
from ._middleware import Handler, Middleware, MiddlewareStack
from ._models import Request, Response
from ._notifications import MemorySeenIds, Notification, NotificationParser, SeenIds, parse_notification
from ._retry import RetryPolicy
from ._signing import Signer, authorization, signing_message
from ._signing_pool import ProcessPoolSigner
from ._verification import Verifier, is_unsigned_download, verification_message
from ._version import __version__
from ._webhooks import AsgiWebhook, WebhookEndpoint, asgi_app, handler_for

__all__ = [
    "ApiError",
    "AsgiWebhook",
    "CallLogger",
    "CertificateStore",
    "Chain",
    "Client",
    "ConfigurationError",
    "ContractTerminateInfo",
    "DownloadError",
    "Downloaded",
    "DuplicateNotificationError",
    "Event",
    "FileStream",
    "GenericEvent",
    "Handler",
    "InsuranceContractEvent",
    "InsurancePolicyGrantedEvent",
    "KeyLoadError",
    "MemorySeenIds",
    "Middleware",
    "MiddlewareStack",
    "Notification",
    "NotificationError",
    "NotificationParser",
    "PlatformKey",
    "PowerBankInsuranceEvent",
    "ProcessPoolSigner",
    "ProgressCallback",
    "Request",
    "Response",
    "RetryPolicy",
    "SeenIds",
    "SignatureError",
    "Signer",
    "TemplateError",
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
