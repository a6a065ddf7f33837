"""An offline WeChat Pay for tests and demos: `async with Emulator() as emu: client = emu.client()`."""

from ._credentials import Credentials, PlatformCertificate
from ._emulator import Emulator
from ._families.bills import Bill
from ._families.files import Files, Media
from ._families.insurance import Insurance
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
    "PlatformCertificate",
    "Received",
    "Refusal",
    "error",
]
