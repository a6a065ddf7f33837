"""wechatpay_chain: an asyncio SDK for the WeChat Pay API, every endpoint through one chain.

async with Client(mchid, serial, private_key, certs) as wxpay:
    r = await wxpay.v3.pay.transactions.id._transaction_id_.get(transaction_id="…", query={…})
"""

from importlib import import_module
from typing import TYPE_CHECKING

from ._chain.nodes import Chain
from ._client import Client
from ._config import BaseURL, Limits, Timeout
from ._errors import (
    ApiError,
    ConfigurationError,
    DuplicateNotificationError,
    EventLoopError,
    KeyLoadError,
    NotificationError,
    ResponseTooLargeError,
    SchemaError,
    SignatureError,
    TemplateError,
    TransportError,
    WechatpayError,
    XmlError,
)
from ._keys.keyring import KeyRing, PlatformKey
from ._keys.loading import load_private_key, load_public_key
from ._keys.sensitive import Encrypted
from ._models import BodyStream, Request, Response
from ._secret import Secret
from ._stack.logging import CallLogger
from ._stack.middleware import Handler, Middleware, MiddlewareStack
from ._stack.signing import Signer, authorization, signing_message
from ._stack.verification import Verifier, is_unsigned_download, verification_message
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
from ._version import __version__

if TYPE_CHECKING:
    from ._files.downloads import Downloaded, DownloadError, FileStream
    from ._keys.cache import CertificateCache, SharedList
    from ._keys.certificates import CertificateRefresher
    from ._notifications.events import (
        CombinedPayer,
        CombinedSubOrder,
        CombinedSubOrderAmount,
        CombinedTransactionEvent,
        ContractTerminateInfo,
        Event,
        GenericEvent,
        InsuranceContractEvent,
        InsurancePolicyGrantedEvent,
        PowerBankInsuranceEvent,
        RefundAmount,
        RefundEvent,
        TransactionAmount,
        TransactionEvent,
        TransactionPayer,
        event_for,
    )
    from ._notifications.parser import KeyHolder, Notification, NotificationParser, parse_notification
    from ._notifications.seen_ids import MemorySeenIds, SeenIds, SharedSeenIds
    from ._notifications.webhooks import AsgiWebhook, WebhookEndpoint, asgi_app, handler_for
    from ._redis.certificates import RedisCertificateCache
    from ._redis.seen_ids import RedisSeenIds
    from ._stack.retry import RetryPolicy
    from ._v2.notifications import (
        ApiV2KeyHolder,
        V2Notification,
        V2NotificationParser,
        V2WebhookEndpoint,
        parse_v2_notification,
        v2_asgi_app,
        v2_handler_for,
    )
    from ._v2.signing import ApiV2Signer
    from ._v2.tls import MerchantCertificate
    from ._v2.verification import ApiV2Verifier
    from ._v2.xml import XmlDict

# Features load on first use, so that `import wechatpay_chain` costs little more than its
# dependencies: each of these names imports its module when first read.
_FEATURES = {
    "_keys.cache": ["CertificateCache", "SharedList"],
    "_keys.certificates": ["CertificateRefresher"],
    "_files.downloads": ["DownloadError", "Downloaded", "FileStream"],
    "_notifications.events": [
        "CombinedPayer",
        "CombinedSubOrder",
        "CombinedSubOrderAmount",
        "CombinedTransactionEvent",
        "ContractTerminateInfo",
        "Event",
        "GenericEvent",
        "InsuranceContractEvent",
        "InsurancePolicyGrantedEvent",
        "PowerBankInsuranceEvent",
        "RefundAmount",
        "RefundEvent",
        "TransactionAmount",
        "TransactionEvent",
        "TransactionPayer",
        "event_for",
    ],
    "_notifications.parser": ["KeyHolder", "Notification", "NotificationParser", "parse_notification"],
    "_stack.retry": ["RetryPolicy"],
    "_notifications.seen_ids": ["MemorySeenIds", "SeenIds", "SharedSeenIds"],
    # The redis extra: several workers share one replay guard and one certificate download.
    "_redis.seen_ids": ["RedisSeenIds"],
    "_redis.certificates": ["RedisCertificateCache"],
    "_notifications.webhooks": ["AsgiWebhook", "WebhookEndpoint", "asgi_app", "handler_for"],
    "_v2.notifications": [
        "ApiV2KeyHolder",
        "V2Notification",
        "V2NotificationParser",
        "V2WebhookEndpoint",
        "parse_v2_notification",
        "v2_asgi_app",
        "v2_handler_for",
    ],
    "_v2.signing": ["ApiV2Signer"],
    "_v2.tls": ["MerchantCertificate"],
    "_v2.verification": ["ApiV2Verifier"],
    "_v2.xml": ["XmlDict"],
}
_LAZY = {name: module for module, names in _FEATURES.items() for name in names}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wechatpay_chain' has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "ApiError",
    "ApiV2KeyHolder",
    "ApiV2Signer",
    "ApiV2Verifier",
    "AsgiWebhook",
    "BaseURL",
    "BillOptions",
    "BodyStream",
    "CallLogger",
    "CertificateCache",
    "CertificateRefresher",
    "Chain",
    "Client",
    "CombinedPayer",
    "CombinedSubOrder",
    "CombinedSubOrderAmount",
    "CombinedTransactionEvent",
    "ConfigurationError",
    "ContractTerminateInfo",
    "DownloadError",
    "DownloadOptions",
    "Downloaded",
    "DuplicateNotificationError",
    "Encrypted",
    "Event",
    "EventLoopError",
    "FileStream",
    "GenericEvent",
    "Handler",
    "HeadersInput",
    "InsuranceContractEvent",
    "InsurancePolicyGrantedEvent",
    "KeyHolder",
    "KeyLoadError",
    "KeyRing",
    "Limits",
    "MemorySeenIds",
    "MerchantCertificate",
    "Middleware",
    "MiddlewareStack",
    "Notification",
    "NotificationError",
    "NotificationParser",
    "PlatformKey",
    "PowerBankInsuranceEvent",
    "PrivateKeyInput",
    "ProgressCallback",
    "PublicKeyInput",
    "Query",
    "RedisCertificateCache",
    "RedisSeenIds",
    "RefundAmount",
    "RefundEvent",
    "Request",
    "Response",
    "ResponseTooLargeError",
    "RetryPolicy",
    "SchemaError",
    "Secret",
    "SeenIds",
    "SharedList",
    "SharedSeenIds",
    "SignatureError",
    "Signer",
    "SigningKey",
    "TemplateError",
    "Timeout",
    "TimeoutTypes",
    "TransactionAmount",
    "TransactionEvent",
    "TransactionPayer",
    "TransportError",
    "UploadSource",
    "V2Notification",
    "V2NotificationParser",
    "V2WebhookEndpoint",
    "Verifier",
    "WebhookEndpoint",
    "WechatpayError",
    "XmlDict",
    "XmlError",
    "__version__",
    "asgi_app",
    "authorization",
    "event_for",
    "handler_for",
    "is_unsigned_download",
    "load_private_key",
    "load_public_key",
    "parse_notification",
    "parse_v2_notification",
    "signing_message",
    "v2_asgi_app",
    "v2_handler_for",
    "verification_message",
]
