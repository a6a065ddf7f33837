"""The emulator's controls: over HTTP under /_emulator/ (any language can drive them) and in Python."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from test_emulator_seeds import PLAN, pre_sign

from wechatpay_chain import ApiError, Client, SignatureError, TransportError
from wechatpay_chain.testing import Emulator

QUALIFY = "v3/hire-power-bank/user-qualifications/{openid}"


class Controls:
    """A plain HTTP caller of the control routes."""

    def __init__(self, emulator: Emulator, session: aiohttp.ClientSession) -> None:
        self.emulator = emulator
        self.session = session

    async def __call__(self, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
        url = self.emulator.base_url + "_emulator/" + path
        async with self.session.request(method, url, json=payload) as response:
            assert response.headers["Content-Type"] == "application/json; charset=utf-8"
            return response.status, await response.json()


@pytest.fixture
async def control(emulator: Emulator) -> AsyncIterator[Controls]:
    async with aiohttp.ClientSession() as session:
        yield Controls(emulator, session)


async def test_the_index_describes_the_emulator_without_secrets(emulator: Emulator, control: Controls) -> None:
    status, info = await control("GET", "")
    creds = emulator.credentials
    assert status == 200
    assert info["base_url"] == emulator.base_url
    assert (info["mchid"], info["serial"], info["public_key_id"]) == (creds.mchid, creds.serial, creds.public_key_id)
    assert (info["key_mode"], info["platform_serials"]) == ("public-key", [])  # no certificates in this mode
    assert "insurance/user-sign" in info["controls"] and "clock" in info["controls"]
    assert creds.apiv3_key not in str(info)


async def test_unknown_controls_and_methods_are_told_apart(control: Controls) -> None:
    assert (await control("GET", "nope"))[0] == 404
    assert (await control("PUT", "clock"))[0] == 405
    assert (await control("GET", "insurance/user-sign"))[0] == 405
    status, body = await control("POST", "insurance/drop-tables", {})
    assert (status, body["code"]) == (404, "NOT_FOUND")


# -- the clock ------------------------------------------------------------------------------------


async def test_the_clock_is_advanced_set_and_read(emulator: Emulator, control: Controls, client: Client) -> None:
    status, clock = await control("POST", "clock", {"advance": 3600})
    assert status == 200 and clock["clock_offset"] == 3600
    assert emulator.clock_offset == 3600
    await control("POST", "clock", {"offset": 60})
    assert emulator.clock_offset == 60
    target = emulator.now() + 86_400
    _, clock = await control("POST", "clock", {"now": target})
    assert abs(clock["now"] - target) < 5
    assert emulator.advance(-emulator.clock_offset) == pytest.approx(emulator.now())
    assert (await control("GET", "clock"))[1]["clock_offset"] == 0
    await client[QUALIFY].get(openid="o")  # signatures never depended on the offset


@pytest.mark.parametrize("payload", [{}, {"advance": 1, "offset": 2}, {"advance": "1h"}, {"advance": True}, [1]])
async def test_a_bad_clock_request_is_a_param_error(control: Controls, payload: Any) -> None:
    status, body = await control("POST", "clock", payload)
    assert (status, body["code"]) == (400, "PARAM_ERROR")


async def test_advancing_the_clock_expires_a_signing_session(
    emulator: Emulator, control: Controls, client: Client
) -> None:
    await client["v3/papay/insurance-sign/contracts/pre-entrust-sign/app"].post(json=pre_sign(emulator, "k1"))
    await control("POST", "clock", {"advance": 601})  # sessions last 10 minutes
    status, body = await control("POST", "insurance/user-sign", {"out_contract_code": "k1"})
    assert (status, body["code"]) == (400, "INVALID_REQUEST")
    assert "EXPIRED" in body["message"]


# -- faults ---------------------------------------------------------------------------------------


async def test_a_fault_is_added_listed_used_up_and_cleared(control: Controls, client: Client) -> None:
    fault = {"kind": "status", "path": QUALIFY, "times": 1, "status": 503, "code": "SYSTEM_ERROR"}
    status, listed = await control("POST", "faults", fault)
    assert status == 200
    assert listed["data"] == [
        {"kind": "status", "path": QUALIFY, "times": 1, "params": {"status": 503, "code": "SYSTEM_ERROR"}}
    ]
    with pytest.raises(ApiError) as caught:
        await client[QUALIFY].get(openid="o")
    assert (caught.value.status, caught.value.code) == (503, "SYSTEM_ERROR")
    await client[QUALIFY].get(openid="o")  # used up
    assert (await control("GET", "faults"))[1]["data"] == []
    await control("POST", "faults", {"kind": "drop"})
    assert len((await control("GET", "faults"))[1]["data"]) == 1
    await control("DELETE", "faults")
    await client[QUALIFY].get(openid="o")


@pytest.mark.parametrize(
    "fault",
    [{"kind": "melt"}, {"kind": "delay", "times": 0}, {"kind": "delay", "times": "once"}, {"path": "v3/x"}],
)
async def test_a_bad_fault_is_a_param_error(control: Controls, fault: dict[str, Any]) -> None:
    status, body = await control("POST", "faults", fault)
    assert (status, body["code"]) == (400, "PARAM_ERROR")


@pytest.mark.parametrize(
    ("fault", "error", "check"),
    [
        ({"kind": "bad_signature"}, SignatureError, "signature"),
        ({"kind": "tamper_body"}, SignatureError, "signature"),
        ({"kind": "skew", "seconds": 900}, SignatureError, "timestamp"),
        ({"kind": "unknown_serial"}, SignatureError, "serial"),
        ({"kind": "missing_header", "name": "Wechatpay-Nonce"}, SignatureError, "headers"),
        ({"kind": "drop"}, TransportError, None),
        ({"kind": "truncate"}, TransportError, None),
    ],
)
async def test_each_fault_kind_reaches_the_client_as_the_right_error(
    control: Controls, client: Client, fault: dict[str, Any], error: type[Exception], check: str | None
) -> None:
    # No `times`: aiohttp itself repeats an idempotent request once when the connection drops.
    await control("POST", "faults", {**fault, "path": QUALIFY})
    with pytest.raises(error) as caught:
        await client[QUALIFY].get(openid="o")
    if check is not None:
        assert isinstance(caught.value, SignatureError) and caught.value.check == check
    await control("DELETE", "faults")
    await client[QUALIFY].get(openid="o")


async def test_a_delay_fault_still_answers(control: Controls, client: Client) -> None:
    await control("POST", "faults", {"kind": "delay", "seconds": 0.01, "path": QUALIFY, "times": 1})
    assert (await client[QUALIFY].get(openid="o")).json() == {"qualified_user": True}


async def test_a_fault_on_one_path_leaves_the_others(control: Controls, client: Client) -> None:
    await control(
        "POST", "faults", {"kind": "status", "status": 500, "path": "v3/hire-power-bank/insurance-orders/{n}"}
    )
    await client[QUALIFY].get(openid="o")
    with pytest.raises(ApiError):
        await client["v3/hire-power-bank/insurance-orders/{n}"].get(n="x")


# -- what was received and delivered -------------------------------------------------------------


async def test_requests_received_are_listed_and_cleared(emulator: Emulator, control: Controls, client: Client) -> None:
    await client[QUALIFY].get(openid="o_listed")
    status, received = await control("GET", "requests")
    assert status == 200
    assert [r["target"] for r in received["data"]] == ["/v3/hire-power-bank/user-qualifications/o_listed"]
    assert received["data"][0]["headers"]["Authorization"].startswith("WECHATPAY2-SHA256-RSA2048 ")
    assert emulator.received[0].method == "GET"  # control calls are not recorded, only API calls
    await control("DELETE", "requests")
    assert (await control("GET", "requests"))[1] == {"data": [], "total_count": 0}


async def test_deliveries_are_listed_and_awaited(emulator: Emulator, control: Controls, client: Client) -> None:
    await client["v3/hire-power-bank/insurance-orders"].post(
        json={"out_order_no": "d1", "openid": "o_d", "notify_url": "https://api.test.com", "service_id": "svc"}
    )
    status, order = await control("POST", "insurance/insurer-confirm", {"out_order_no": "d1"})
    assert (status, order["order_receive_state"]) == (200, "RECEIVED")
    status, waited = await control(
        "POST", "deliveries/wait", {"event_type": "HIRE_POWER_BANK.RECEIVE_INSURANCE", "timeout": 0.2}
    )
    assert (status, waited["code"]) == (408, "TIMEOUT")  # api.test.com is not loopback: never delivered
    _, listed = await control("GET", "deliveries?event_type=HIRE_POWER_BANK.RECEIVE_INSURANCE")
    (attempt,) = listed["data"]
    assert attempt["delivered"] is False and attempt["final"] is True
    assert attempt["resource"]["out_order_no"] == "d1"
    assert (await control("GET", "deliveries?event_type=OTHER"))[1]["data"] == []


# -- certificates ---------------------------------------------------------------------------------


@pytest.mark.wechatpay_emulator(key_mode="certificate")
async def test_rotating_the_platform_certificate(emulator: Emulator, control: Controls, client: Client) -> None:
    old = emulator.credentials.platform_serial
    status, rotated = await control("POST", "certificates/rotate")
    assert status == 200
    assert rotated["platform_serials"] == [old, rotated["serial"]]
    by_certificate = emulator.client(certs={rotated["serial"]: emulator.credentials.platform[-1].certificate})
    response = await by_certificate[QUALIFY].get(openid="o", headers={"Wechatpay-Serial": rotated["serial"]})
    assert response.headers["Wechatpay-Serial"] == rotated["serial"]


# -- playing the user and the insurer --------------------------------------------------------------


async def test_the_user_signs_denies_and_grants_over_http(
    emulator: Emulator, control: Controls, client: Client
) -> None:
    await client["v3/inspolicymgr/deduct/authorizations"].post(
        json={
            "out_insurance_no": "h1",
            "appid": "wxd678efh567hg6787",
            "plan_id": str(PLAN),
            "out_contract_code": "h1c",
            "insurance_name": "医疗险",
        }
    )
    await client["v3/papay/insurance-sign/contracts/pre-entrust-sign/app"].post(json=pre_sign(emulator, "h1c"))
    status, contract = await control("POST", "insurance/user-sign", {"out_contract_code": "h1c"})
    assert (status, contract["contract_state"]) == (200, "SIGNED")
    status, auth = await control("POST", "insurance/user-deny", {"out_insurance_no": "h1"})
    assert (status, auth["auth_state"]) == (200, "AUTH_STATE_DENIED")
    status, auth = await control("POST", "insurance/user_grant", {"out_insurance_no": "h1"})
    assert (status, auth["auth_state"]) == (200, "AUTH_STATE_GRANTED")
    status, body = await control("POST", "insurance/user-grant", {"out_insurance_no": "h1"})
    assert (status, body["code"]) == (400, "INVALID_REQUEST")  # already granted: the book's own refusal


@pytest.mark.parametrize(
    ("path", "payload", "status", "code"),
    [
        ("insurance/insurer-confirm", {"out_order_no": "none"}, 404, "ORDER_NOT_EXIST"),
        ("insurance/insurer-confirm", {}, 400, "PARAM_ERROR"),
        ("insurance/user-sign", {"out_contract_code": "x", "colour": "red"}, 400, "PARAM_ERROR"),
        ("insurance/set-plan-frequency", {"plan_id": 1, "frequency": "HOURLY"}, 400, "PARAM_ERROR"),
    ],
)
async def test_insurance_control_errors(control: Controls, path: str, payload: Any, status: int, code: str) -> None:
    got, body = await control("POST", path, payload)
    assert (got, body["code"]) == (status, code)


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("POST", "clock", {"advance": 1, "speed": 2}),
        ("POST", "deliveries/wait", {"timeout": 0.01, "type": "X"}),
        ("POST", "insurance/user-deny", {"out_insurance_no": "h1", "granted": True}),
        ("POST", "certificates/rotate", {"serial": "mine"}),
    ],
)
async def test_a_field_a_control_does_not_take_is_refused(
    emulator: Emulator, control: Controls, method: str, path: str, payload: dict[str, Any]
) -> None:
    platform = list(emulator.credentials.platform)
    status, body = await control(method, path, payload)
    assert (status, body["code"]) == (400, "PARAM_ERROR")
    assert any(name in body["message"] for name in payload)
    assert (emulator.clock_offset, emulator.credentials.platform) == (0, platform)  # nothing was done


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("insurance/insurer-confirm", {"out_order_no": "x", "max_claim_count": "3"}, "max_claim_count"),
        ("insurance/user-sign", {"out_contract_code": "x", "success": "yes"}, "success"),
        ("insurance/set-product-enabled", {"product": "payments", "enabled": False}, "product"),
        ("insurance/set-user-qualified", {"openid": 7}, "openid"),
    ],
)
async def test_a_control_argument_of_the_wrong_type_is_named(
    control: Controls, path: str, payload: dict[str, Any], field: str
) -> None:
    status, body = await control("POST", path, payload)
    assert (status, body["code"]) == (400, "PARAM_ERROR")
    assert field in body["message"]


async def test_the_index_lists_every_control(emulator: Emulator, control: Controls) -> None:
    _, info = await control("GET", "")
    assert info["controls"] == sorted({c.path for c in emulator.controls})
    assert {"insurance/user-deny", "certificates/rotate", "faults", "requests"} <= set(info["controls"])


async def test_each_control_describes_its_parameters(control: Controls) -> None:
    status, described = await control("GET", "controls")
    assert status == 200
    table = {(c["method"], c["path"]): c for c in described["data"]}
    sign = table["POST", "insurance/user-sign"]
    assert sign["params"][0] == {"name": "out_contract_code", "kind": "string", "required": True}
    assert {"name": "success", "kind": "boolean", "required": False} in sign["params"]
    frequency = table["POST", "insurance/set-plan-frequency"]["params"][1]
    assert frequency["enum"] == ["MONTH", "QUARTER", "YEAR"]
    assert all(c["doc"] for c in described["data"])


async def test_a_user_qualification_is_forced_and_cleared_over_http(control: Controls, client: Client) -> None:
    assert (await control("POST", "insurance/set-user-qualified", {"openid": "q", "qualified": False}))[0] == 200
    assert (await client[QUALIFY].get(openid="q")).json() == {"qualified_user": False}
    assert (await control("POST", "insurance/set-user-qualified", {"openid": "q", "qualified": None})) == (200, None)
    assert (await client[QUALIFY].get(openid="q")).json() == {"qualified_user": True}
