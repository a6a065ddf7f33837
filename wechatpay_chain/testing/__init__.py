"""An offline WeChat Pay for tests and demos: `async with Emulator() as emu: client = emu.client()`."""

from ._credentials import Credentials, PlatformCertificate
from ._emulator import Answer, Emulator, Fault, Incoming, Received, error
from ._files import Bill, Files, Media
from ._insurance import InsuranceBook, InsuranceError, Notice
from ._webhooks import Delivery

__all__ = [
    "Answer",
    "Bill",
    "Credentials",
    "Delivery",
    "Emulator",
    "Fault",
    "Files",
    "Incoming",
    "InsuranceBook",
    "InsuranceError",
    "Media",
    "Notice",
    "PlatformCertificate",
    "Received",
    "error",
]
