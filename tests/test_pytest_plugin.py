"""The pytest11 plugin: a user's own test suite gets `wechatpay_emulator` and `wechatpay_client`."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

pytest_plugins = ["pytester"]

# The README's five-line example, verbatim.
USER_TEST = """
async def test_insurer_confirms_the_order(wechatpay_emulator, wechatpay_client):
    orders = wechatpay_client.v3.hirePowerBank.insuranceOrders
    await orders.post(json={"out_order_no": "PB1", "openid": "o1", "service_id": "500001"})
    wechatpay_emulator.insurance.insurer_confirm("PB1")
    assert (await orders._out_order_no_.get(out_order_no="PB1")).json()["order_receive_state"] == "RECEIVED"
"""

RUN = ("-p", "no:cacheprovider")
LOOP = "asyncio_default_fixture_loop_scope = function\n"


def test_the_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    found = [ep for ep in entry_points(group="pytest11") if ep.name == "wechatpay_chain"]
    assert [ep.value for ep in found] == ["wechatpay_chain.testing._pytest_plugin"]


def test_a_five_line_user_test_passes_in_auto_mode(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\n" + LOOP)
    pytester.makepyfile(test_user=USER_TEST)
    pytester.runpytest(*RUN).assert_outcomes(passed=1)


def test_strict_mode_needs_the_asyncio_marker(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = strict\n" + LOOP)
    marked = "import pytest\n" + USER_TEST.replace("\nasync def", "\n@pytest.mark.asyncio\nasync def", 1)
    pytester.makepyfile(test_user=marked)
    pytester.runpytest(*RUN).assert_outcomes(passed=1)


def test_the_user_test_fails_when_its_assertion_is_wrong(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\n" + LOOP)
    pytester.makepyfile(test_user=USER_TEST.replace('== "RECEIVED"', '== "RECEIVING"'))
    pytester.runpytest(*RUN).assert_outcomes(failed=1)


def test_each_test_gets_its_own_emulator_state_and_certificates(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\n" + LOOP)
    pytester.makepyfile(
        test_isolation="""
        import pytest
        from wechatpay_chain import ApiError

        async def test_first(wechatpay_emulator, wechatpay_client):
            order = {"out_order_no": "PB1", "openid": "o1", "service_id": "s"}
            await wechatpay_client.v3.hirePowerBank.insuranceOrders.post(json=order)
            wechatpay_emulator.rotate_certificate()
            assert len(wechatpay_emulator.credentials.platform) == 2

        async def test_second(wechatpay_emulator, wechatpay_client, wechatpay_credentials):
            assert len(wechatpay_emulator.credentials.platform) == 1
            assert wechatpay_emulator.credentials.serial == wechatpay_credentials.serial  # keys made once
            with pytest.raises(ApiError):
                await wechatpay_client.v3.hirePowerBank.insuranceOrders._out_order_no_.get(out_order_no="PB1")
        """
    )
    pytester.runpytest(*RUN).assert_outcomes(passed=2)


def test_the_marker_configures_the_emulator(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\n" + LOOP)
    pytester.makepyfile(
        test_marker="""
        import pytest
        from wechatpay_chain import ApiError

        @pytest.mark.wechatpay_emulator(key_mode="certificate")
        async def test_certificate_mode(wechatpay_emulator, wechatpay_client):
            assert wechatpay_emulator.key_mode == "certificate"
            listed = (await wechatpay_client.v3.certificates.get()).json()["data"]
            assert [c["serial_no"] for c in listed] == [wechatpay_emulator.credentials.platform_serial]

        async def test_public_key_mode_by_default(wechatpay_emulator, wechatpay_client):
            assert wechatpay_emulator.key_mode == "public-key"
            with pytest.raises(ApiError) as refused:
                await wechatpay_client.v3.certificates.get()
            assert refused.value.response.json()["code"] == "RESOURCE_NOT_EXISTS"
        """
    )
    pytester.runpytest(*RUN, "--strict-markers").assert_outcomes(passed=2)
