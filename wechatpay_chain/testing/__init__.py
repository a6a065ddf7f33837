"""An offline WeChat Pay for tests and demos: `async with Emulator() as emu: client = emu.client()`."""

from ._apiv2 import v2_payment_notification, v2_refund_notification
from ._credentials import Credentials, PlatformCertificate
from ._emulator import Emulator
from ._families.bills import Bill
from ._families.files import Files, Media
from ._families.insurance import Insurance
from ._families.payments_v2 import PaymentsV2, V2Order, V2Refund
from ._faults import Fault
from ._http import Answer, Incoming, Refusal, error
from ._notices import Notice
from ._received import Received
from ._thread import EmulatorThread
from ._webhooks import Delivery

__all__ = [
    "Answer",
    "Bill",
    "Credentials",
    "Delivery",
    "Emulator",
    "EmulatorThread",
    "Fault",
    "Files",
    "Incoming",
    "Insurance",
    "Media",
    "Notice",
    "PaymentsV2",
    "PlatformCertificate",
    "Received",
    "Refusal",
    "V2Order",
    "V2Refund",
    "error",
    "v2_payment_notification",
    "v2_refund_notification",
]
