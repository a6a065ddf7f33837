"""An offline WeChat Pay for tests and demos: `async with Emulator() as emu: client = emu.client()`."""

from ._credentials import Credentials, PlatformCertificate
from ._emulator import Answer, Emulator, Incoming, Received, error

__all__ = ["Answer", "Credentials", "Emulator", "Incoming", "PlatformCertificate", "Received", "error"]
