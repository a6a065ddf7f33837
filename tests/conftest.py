"""Shared fixtures: the package's own pytest plugin (`wechatpay_chain.testing._pytest_plugin`), used as users use it.

The plugin is registered by the `pytest11` entry point of the installed package. It defines
`wechatpay_credentials`, `wechatpay_emulator` and `wechatpay_client`; the short names below are
aliases of those, not other fixtures.
"""

from __future__ import annotations

import pytest

from wechatpay_chain import Client
from wechatpay_chain.testing import Credentials, Emulator


@pytest.fixture(scope="session")
def credentials(wechatpay_credentials: Credentials) -> Credentials:
    """`wechatpay_credentials`: keys generated once per test session."""
    return wechatpay_credentials


@pytest.fixture
def emulator(wechatpay_emulator: Emulator) -> Emulator:
    """`wechatpay_emulator`: a started emulator for this test, with the session's keys."""
    return wechatpay_emulator


@pytest.fixture
def client(wechatpay_client: Client) -> Client:
    """`wechatpay_client`: a client bound to the emulator (closed with it)."""
    return wechatpay_client


@pytest.fixture(scope="session")
def offline_client(credentials: Credentials) -> Client:
    """A client that is never used for I/O: for building requests and chains (APIv2 ones too)."""
    return Client(
        credentials.mchid,
        credentials.serial,
        credentials.merchant_key,
        {credentials.public_key_id: credentials.public_key.public_key()},
        apiv2_key=credentials.apiv2_key,
        merchant_cert=credentials.merchant_certificate,
    )
