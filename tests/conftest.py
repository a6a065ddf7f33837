"""Shared fixtures: a real emulator on 127.0.0.1 with keys generated for the test run."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from wechatpay_chain import Client
from wechatpay_chain.testing import Credentials, Emulator


@pytest.fixture(scope="session")
def credentials() -> Credentials:
    """One set of freshly generated RSA keys per test session (generation is the slow part)."""
    return Credentials.generate()


@pytest.fixture
async def emulator(credentials: Credentials) -> AsyncIterator[Emulator]:
    """A started emulator; its platform certificates are reset so rotations don't leak between tests."""
    credentials.platform[:] = credentials.platform[:1]
    async with Emulator(credentials=credentials) as emu:
        yield emu


@pytest.fixture
def client(emulator: Emulator) -> Client:
    """A client bound to the emulator (closed with it)."""
    return emulator.client()


@pytest.fixture(scope="session")
def offline_client(credentials: Credentials) -> Client:
    """A client that is never used for I/O: for building requests and chains."""
    return Client(
        credentials.mchid,
        credentials.serial,
        credentials.merchant_key,
        {credentials.public_key_id: credentials.public_key.public_key()},
    )
