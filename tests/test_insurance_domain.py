"""The insurance emulator's domain layer: state machines, validation, uniqueness and webhooks."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest

from wechatpay_chain.testing import Answer, Incoming, Insurance, Notice, Refusal
from wechatpay_chain.testing._routing import Router
from wechatpay_chain.testing._time import BEIJING, rfc3339

MCHID = "1900000109"
APPID = "wxd678efh567hg6787"
PLAN = 12535
NOTIFY = "https://merchant.test/insurance/contract"
SIGN = "v3/papay/insurance-sign"
PAY = "v3/papay/insurance-pay"
START = dt.datetime(2025, 3, 3, 10, 0, tzinfo=BEIJING).timestamp()  # a Monday, 10:00 Beijing


class Env:
    """The insurance products on a movable clock, their routes, and the notices they emitted."""

    def __init__(self, **options: Any) -> None:
        self.now = START
        self.notices: list[Notice] = []
        self.codes: dict[str, str] = {}  # contract_id -> out_contract_code
        self.book = Insurance(clock=lambda: self.now, notify=self.notices.append, mchid=MCHID, **options)
        self.router = Router(self.book.routes())

    @property
    def today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self.now, BEIJING).date()

    def advance(self, *, days: int = 0, seconds: float = 0) -> None:
        self.now += days * 86_400 + seconds

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Answer:
        data = raw if raw is not None else b"" if body is None else orjson.dumps(body)
        return self.answer(Incoming.of(method, path + ("?" + urlencode(query) if query else ""), data))

    def answer(self, incoming: Incoming) -> Answer:
        """Route the request as the emulator does and run its handler in-process."""
        found = self.router.match(incoming.method, incoming.segments)
        assert found is not None, f"{incoming.method} {incoming.path} was not routed"
        route, params = found
        try:
            answer = route.handler(incoming, params)
        except Refusal as refusal:
            return refusal.answer()
        assert isinstance(answer, Answer)  # the insurance handlers answer synchronously
        return answer

    def ok(self, method: str, path: str, body: Any = None, **kw: Any) -> dict[str, Any]:
        reply = self.call(method, path, body, **kw)
        assert reply.status == 200, reply.body
        assert isinstance(reply.body, dict)
        return reply.body

    def contract_body(
        self, code: str, *, periods: int = 3, first_in: int = 1, premium: int = 1000, **extra: Any
    ) -> dict[str, Any]:
        return {
            "appid": APPID,
            "plan_id": PLAN,
            "out_contract_code": code,
            "insured_display_name": "*明",
            "contract_notify_url": NOTIFY,
            "policy_start_date": self.today.isoformat(),
            "policy_end_date": (self.today + dt.timedelta(days=365)).isoformat(),
            "policy_periods": [
                {
                    "policy_period_id": i + 1,
                    "estimated_deduct_date": self.day(first_in + 30 * i),
                    "estimated_deduct_amount": {"total": premium, "currency": "CNY"},
                }
                for i in range(periods)
            ],
            **extra,
        }

    def day(self, offset: int) -> str:
        return (self.today + dt.timedelta(days=offset)).isoformat()

    def sign(self, code: str, **extra: Any) -> dict[str, Any]:
        self.ok("POST", f"{SIGN}/contracts/pre-entrust-sign/app", self.contract_body(code, **extra))
        contract = self.book.user_sign(code, openid=f"openid-{code}")
        self.codes[contract["contract_id"]] = code
        return contract

    def contract(self, code: str) -> dict[str, Any]:
        return self.ok("GET", f"{SIGN}/contracts/plan-id/{PLAN}/out-contract-code/{code}")

    def period(self, contract_id: str, period_id: int) -> dict[str, Any]:
        return self.ok("GET", f"{PAY}/policy-periods/contract-id/{contract_id}/policy-period-id/{period_id}")

    def schedule(self, contract_id: str, period_id: int, total: int = 1000, appid: str = APPID) -> Answer:
        path = f"{PAY}/policy-periods/contract-id/{contract_id}/policy-period-id/{period_id}/schedule"
        return self.call("POST", path, {"appid": appid, "scheduled_amount": {"total": total, "currency": "CNY"}})

    def apply(self, contract_id: str, period_id: int, trade: str, total: int = 1000) -> Answer:
        body = {
            "appid": APPID,
            "out_trade_no": trade,
            "description": "premium",
            "transaction_notify_url": "https://merchant.test/pay",
            "contract_id": contract_id,
            "policy_period_id": period_id,
            "amount": {"total": total, "currency": "CNY"},
        }
        return self.call("POST", f"{PAY}/transactions/apply", body)

    def modify(self, contract_id: str, changes: dict[int, int], **extra: Any) -> Answer:
        periods = self.ok("GET", f"{SIGN}/policy_periods/plan-id/{PLAN}/out-contract-code/{self.codes[contract_id]}")
        items = [
            {
                "policy_period_id": p["policy_period_id"],
                "estimated_deduct_date": p["estimated_deduct_date"],
                "estimated_deduct_amount": {
                    "total": changes.get(p["policy_period_id"], p["estimated_deduct_amount"]["total"])
                },
            }
            for p in periods["data"]
        ]
        path = f"{SIGN}/policy-periods/plan-id/{PLAN}/contract-id/{contract_id}/modify"
        return self.call("POST", path, {"appid": APPID, "policy_periods": items, **extra})

    def renew(self, contract_id: str, periods: list[tuple[int, int, int]]) -> Answer:
        items = [
            {
                "policy_period_id": pid,
                "estimated_deduct_date": self.day(offset),
                "estimated_deduct_amount": {"total": t},
            }
            for pid, offset, t in periods
        ]
        path = f"{SIGN}/contracts/plan-id/{PLAN}/contract-id/{contract_id}/renew"
        return self.call("POST", path, {"appid": APPID, "policy_periods": items})


def refused(reply: Answer, status: int, code: str, field: str | None = None) -> None:
    assert (reply.status, (reply.body or {}).get("code")) == (status, code), reply.body
    if field is not None:
        assert reply.body is not None
        assert reply.body["detail"]["field"] == field
        assert field in reply.body["message"]


@pytest.fixture
def env() -> Env:
    return Env()


# -- routing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "v3/pay/transactions/id/1"),
        ("DELETE", "v3/inspolicymgr/deduct/policies/P1"),
        ("GET", f"{SIGN}/contracts/pre-entrust-sign/app"),
        ("GET", f"{SIGN}/policy-periods/plan-id/1/out-contract-code/c1"),  # list uses policy_periods
    ],
)
def test_requests_outside_the_22_endpoints_are_not_answered(env: Env, method: str, path: str) -> None:
    assert env.router.match(method, Incoming.of(method, path).segments) is None


def test_a_leading_slash_is_the_same_path(env: Env) -> None:
    reply = env.answer(Incoming.of("GET", "/v3/hire-power-bank/user-qualifications/u1"))
    assert reply == Answer(200, {"qualified_user": True})


def test_path_parameters_are_typed(env: Env) -> None:
    refused(env.call("GET", f"{SIGN}/contracts/plan-id/abc/out-contract-code/c1"), 400, "PARAM_ERROR", "plan_id")
    reply = env.call("GET", f"{PAY}/policy-periods/contract-id/1/policy-period-id/0")
    refused(reply, 400, "PARAM_ERROR", "policy_period_id")
    assert reply.body is not None and reply.body["detail"]["location"] == "path"


def test_withdrawn_product_answers_403(env: Env) -> None:
    env.book.set_product_enabled("hire-power-bank", False)
    refused(env.call("GET", "v3/hire-power-bank/user-qualifications/u1"), 403, "NOAUTH")
    env.book.set_product_enabled("insurance-sign", False)
    refused(env.call("GET", f"{SIGN}/contracts/plan-id/{PLAN}/out-contract-code/c1"), 403, "NO_AUTH")
    env.book.set_product_enabled("hire-power-bank", True)
    assert env.ok("GET", "v3/hire-power-bank/user-qualifications/u1") == {"qualified_user": True}


# -- pre-entrust-sign and signing ------------------------------------------------------------


def test_each_pre_sign_channel_answers_its_documented_shape(env: Env) -> None:
    shapes = {
        "app": {"pre_entrustweb_id"},
        "h5": {"redirect_url"},
        "jsapi": {"redirect_url"},
        "mini-program": {"pre_entrustweb_id", "redirect_appid", "redirect_path"},
    }
    for n, (channel, keys) in enumerate(shapes.items()):
        body = env.ok("POST", f"{SIGN}/contracts/pre-entrust-sign/{channel}", env.contract_body(f"c{n}"))
        assert set(body) == keys
        assert all(isinstance(v, str) and v for v in body.values())


def test_signing_emits_the_sign_notice_to_the_contract_notify_url(env: Env) -> None:
    env.ok("POST", f"{SIGN}/contracts/pre-entrust-sign/jsapi", env.contract_body("c1", out_user_code="u1"))
    assert env.notices == []
    env.advance(seconds=90)
    contract = env.book.user_sign("c1", openid="o1")
    [notice] = env.notices
    assert (notice.notify_url, notice.event_type, notice.original_type) == (
        NOTIFY,
        "INSURANCE_ENTRUST.SIGN",
        "insurance_entrust",
    )
    assert notice.summary
    assert set(notice.resource) == {
        "mchid",
        "contract_id",
        "appid",
        "plan_id",
        "out_contract_code",
        "insured_display_name",
        "contract_state",
        "contract_signed_time",
        "contract_expired_time",
        "openid",
    }
    assert notice.resource["contract_state"] == "SIGNED"
    assert notice.resource["contract_signed_time"] == "2025-03-03T10:01:30+08:00"
    assert notice.resource["contract_expired_time"] == f"{env.day(365)}T23:59:59+08:00"
    assert (notice.resource["mchid"], notice.resource["openid"], notice.resource["plan_id"]) == (MCHID, "o1", PLAN)
    assert env.contract("c1") == {**notice.resource, "out_user_code": "u1"} == contract


def test_the_clock_drives_timestamps(env: Env) -> None:
    env.sign("c1")
    env.now = dt.datetime(2025, 3, 9, 18, 30, 5, tzinfo=BEIJING).timestamp()
    path = f"{SIGN}/contracts/plan-id/{PLAN}/out-contract-code/c1/terminate"
    info = env.ok("POST", path, {"contract_termination_remark": "用户解约"})["contract_terminate_info"]
    assert info["contract_terminated_time"] == "2025-03-09T18:30:05+08:00" == rfc3339(env.now)


def test_terminate_by_the_merchant_and_refuse_it_twice(env: Env) -> None:
    env.sign("c1")
    path = f"{SIGN}/contracts/plan-id/{PLAN}/out-contract-code/c1/terminate"
    contract = env.ok("POST", path, {"contract_termination_remark": "签约信息有误"})
    assert contract["contract_state"] == "TERMINATED"
    assert contract["contract_terminate_info"] == {
        "contract_termination_mode": "MCH_API_TERMINATE",
        "contract_terminated_time": rfc3339(env.now),
        "contract_termination_remark": "签约信息有误",
    }
    notice = env.notices[-1]
    assert (notice.event_type, notice.notify_url) == ("INSURANCE_ENTRUST.TERMINATE", NOTIFY)
    assert notice.resource["contract_terminate_info"] == contract["contract_terminate_info"]
    refused(env.call("POST", path, {"contract_termination_remark": "again"}), 400, "INVALID_REQUEST")
    assert len(env.notices) == 2


def test_unknown_contracts_are_404(env: Env) -> None:
    path = f"{SIGN}/contracts/plan-id/{PLAN}/out-contract-code/nobody/terminate"
    refused(env.call("POST", path, {"contract_termination_remark": "x"}), 404, "RESOURCE_NOT_EXISTS")
    env.ok("POST", f"{SIGN}/contracts/pre-entrust-sign/app", env.contract_body("c1"))
    refused(env.call("GET", f"{SIGN}/contracts/plan-id/{PLAN}/out-contract-code/c1"), 404, "RESOURCE_NOT_EXISTS")
    env.book.user_sign("c1")
    refused(env.call("GET", f"{SIGN}/contracts/plan-id/999/out-contract-code/c1"), 404, "RESOURCE_NOT_EXISTS")
    refused(env.call("GET", f"{PAY}/policy-periods/contract-id/42/policy-period-id/1"), 404, "RESOURCE_NOT_EXISTS")


def test_terminate_requires_its_remark(env: Env) -> None:
    env.sign("c1")
    path = f"{SIGN}/contracts/plan-id/{PLAN}/out-contract-code/c1/terminate"
    refused(env.call("POST", path, {}), 400, "PARAM_ERROR", "contract_termination_remark")
    refused(env.call("POST", path, raw=b"{not json"), 400, "PARAM_ERROR")
    refused(env.call("POST", path, raw=b""), 400, "PARAM_ERROR")
    assert env.contract("c1")["contract_state"] == "SIGNED"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"appid": None}, "appid"),
        ({"plan_id": "12535"}, "plan_id"),
        ({"plan_id": 0}, "plan_id"),
        ({"plan_id": True}, "plan_id"),
        ({"out_contract_code": "c-1"}, "out_contract_code"),
        ({"out_contract_code": "c" * 33}, "out_contract_code"),
        ({"insured_display_name": ""}, "insured_display_name"),
        ({"contract_notify_url": "merchant.test/notify"}, "contract_notify_url"),
        ({"policy_start_date": "2025-02-30"}, "policy_start_date"),
        ({"can_auto_insure": "true"}, "can_auto_insure"),
        ({"policy_periods": []}, "policy_periods"),
        (
            {"policy_periods": [{"policy_period_id": 1, "estimated_deduct_date": "2025-03-04"}]},
            "policy_periods[0].estimated_deduct_amount",
        ),
        (
            {
                "policy_periods": [
                    {
                        "policy_period_id": 1,
                        "estimated_deduct_date": "2025-03-04",
                        "estimated_deduct_amount": {"total": 1.5},
                    }
                ]
            },
            "policy_periods[0].estimated_deduct_amount.total",
        ),
        (
            {
                "policy_periods": [
                    {
                        "policy_period_id": 841,
                        "estimated_deduct_date": "2025-03-04",
                        "estimated_deduct_amount": {"total": 1},
                    }
                ]
            },
            "policy_periods[0].policy_period_id",
        ),
        ({"amount": {"total": 100, "currency": "USD"}, "out_trade_no": "t1", "description": "d"}, "amount.currency"),
        ({"real_identity": {"real_name": "not base64!", "id_card_number": "QUJD"}}, "real_identity.real_name"),
        ({"real_identity": {"real_name": "QUJD"}}, "real_identity.id_card_number"),
    ],
)
def test_pre_sign_validation_names_the_field(env: Env, change: dict[str, Any], field: str) -> None:
    body = {**env.contract_body("c1"), **change}
    refused(env.call("POST", f"{SIGN}/contracts/pre-entrust-sign/app", body), 400, "PARAM_ERROR", field)
    env.ok("POST", f"{SIGN}/contracts/pre-entrust-sign/app", env.contract_body("c1"))  # c1 was not consumed


def test_the_root_must_be_an_object(env: Env) -> None:
    refused(env.call("POST", f"{SIGN}/contracts/pre-entrust-sign/app", [1, 2]), 400, "PARAM_ERROR", "(root)")


def test_channel_specific_fields_are_checked_where_documented(env: Env) -> None:
    body = env.contract_body("c1", jump_control={"jump_appid": 7})
    refused(
        env.call("POST", f"{SIGN}/contracts/pre-entrust-sign/h5", body), 400, "PARAM_ERROR", "jump_control.jump_appid"
    )
    env.ok("POST", f"{SIGN}/contracts/pre-entrust-sign/app", body)  # app has no jump_control: ignored
    body = env.contract_body("c2")
    body["policy_periods"][0]["policy_coverage_detail"] = {"policy_clauses": [{"clause_name": 5}]}
    field = "policy_periods[0].policy_coverage_detail.policy_clauses[0].clause_name"
    refused(env.call("POST", f"{SIGN}/contracts/pre-entrust-sign/jsapi", body), 400, "PARAM_ERROR", field)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda e: e.contract_body("c1", policy_end_date=e.day(-1)), "policy_end_date"),
        (lambda e: e.contract_body("c1", can_auto_insure=True, can_auto_reinsure=True), "can_auto_reinsure"),
        (lambda e: e.contract_body("c1", amount={"total": 1000}), "out_trade_no"),
        (lambda e: e.contract_body("c1", amount={"total": 1000}, out_trade_no="t1"), "description"),
        (lambda e: e.contract_body("c1", out_trade_no="t1"), "amount"),
        (lambda e: e.contract_body("c1", first_in=0), "policy_periods[0].estimated_deduct_date"),
        (lambda e: e.contract_body("c1", periods=13), "policy_periods"),
    ],
)
def test_pre_sign_rules(env: Env, build: Any, field: str) -> None:
    refused(env.call("POST", f"{SIGN}/contracts/pre-entrust-sign/app", build(env)), 400, "PARAM_ERROR", field)


def test_period_dates_must_increase_with_ids_and_stay_in_the_policy(env: Env) -> None:
    body = env.contract_body("c1")
    body["policy_periods"][2]["estimated_deduct_date"] = env.day(10)
    refused(
        env.call("POST", f"{SIGN}/contracts/pre-entrust-sign/app", body),
        400,
        "PARAM_ERROR",
        "policy_periods[2].estimated_deduct_date",
    )
    body = env.contract_body("c1")
    body["policy_periods"][1]["policy_period_id"] = 1
    refused(env.call("POST", f"{SIGN}/contracts/pre-entrust-sign/app", body), 400, "PARAM_ERROR")
    body = env.contract_body("c1", policy_end_date=env.day(40))
    refused(
        env.call("POST", f"{SIGN}/contracts/pre-entrust-sign/app", body),
        400,
        "PARAM_ERROR",
        "policy_periods[2].estimated_deduct_date",
    )


def test_sign_and_pay_may_deduct_today_and_pays_the_first_period(env: Env) -> None:
    extra = {"amount": {"total": 800}, "out_trade_no": "first-1", "description": "premium"}
    contract = env.sign("c1", first_in=0, **extra)
    period = env.period(contract["contract_id"], 1)
    assert period == {
        "policy_period_id": 1,
        "policy_period_state": "PAID",
        "deduct_amount": {"total": 800, "currency": "CNY"},
        "deduct_date": env.day(0),
    }


def test_identical_pre_sign_replays_and_conflicting_reuse(env: Env) -> None:
    path = f"{SIGN}/contracts/pre-entrust-sign/app"
    first = env.ok("POST", path, env.contract_body("c1"))
    assert env.ok("POST", path, env.contract_body("c1")) == first
    refused(env.call("POST", path, env.contract_body("c1", premium=5)), 400, "INVALID_REQUEST")
    refused(env.call("POST", f"{SIGN}/contracts/pre-entrust-sign/h5", env.contract_body("c1")), 400, "INVALID_REQUEST")
    env.book.user_sign("c1")
    refused(env.call("POST", path, env.contract_body("c1")), 400, "INVALID_REQUEST")
    pay: dict[str, Any] = {"amount": {"total": 10}, "out_trade_no": "t1", "description": "d"}
    env.ok("POST", path, env.contract_body("c2", **pay))
    refused(env.call("POST", path, env.contract_body("c3", **pay)), 400, "INVALID_REQUEST")
    env.ok("POST", path, env.contract_body("c3"))  # c3 was not consumed by the refused call


def test_a_signing_session_lasts_ten_minutes(env: Env) -> None:
    env.ok("POST", f"{SIGN}/contracts/pre-entrust-sign/app", env.contract_body("c1"))
    env.advance(seconds=601)
    with pytest.raises(Refusal) as caught:
        env.book.user_sign("c1")
    assert caught.value.code == "INVALID_REQUEST"
    refused(env.call("POST", f"{SIGN}/contracts/pre-entrust-sign/app", env.contract_body("c1")), 400, "INVALID_REQUEST")
    with pytest.raises(Refusal) as caught:
        env.book.user_sign("never")
    assert caught.value.status == 404


def test_a_failed_signing_leaves_sign_failed_without_notice(env: Env) -> None:
    env.ok("POST", f"{SIGN}/contracts/pre-entrust-sign/app", env.contract_body("c1", openid="o1"))
    with pytest.raises(Refusal):
        env.book.user_sign("c1", openid="someone-else")
    contract = env.book.user_sign("c1", success=False)
    assert contract["contract_state"] == "SIGN_FAILED"
    assert "insured_display_name" not in contract and "contract_signed_time" not in contract
    assert env.notices == []
    path = f"{SIGN}/contracts/plan-id/{PLAN}/out-contract-code/c1/terminate"
    refused(env.call("POST", path, {"contract_termination_remark": "x"}), 400, "INVALID_REQUEST")


def test_a_user_holds_at_most_ten_contracts_per_plan(env: Env) -> None:
    path = f"{SIGN}/contracts/pre-entrust-sign/app"
    for n in range(11):
        env.ok("POST", path, env.contract_body(f"c{n}"))
    for n in range(10):
        env.book.user_sign(f"c{n}", openid="o1")
    with pytest.raises(Refusal) as caught:
        env.book.user_sign("c10", openid="o1")
    assert (caught.value.status, caught.value.code) == (403, "RULE_LIMIT")
    assert env.book.user_sign("c10", openid="o2")["contract_state"] == "SIGNED"


def test_termination_outside_the_api_with_a_revocable_window(env: Env) -> None:
    env.sign("c1")
    pending = env.book.wechat_terminate("c1", pending=True)
    assert pending["contract_state"] == "TERMINATE_PENDING"
    assert pending["revoke_terminate_contract_redirect_url"] and pending["revoke_terminate_contract_redirect_appid"]
    assert env.book.settle_pending_termination("c1", revoked=True)["contract_state"] == "SIGNED"
    assert "revoke_terminate_contract_redirect_url" not in env.contract("c1")
    env.book.wechat_terminate("c1", mode="CUSTOMER_SERVICE_TERMINATE", remark="客服解约", pending=True)
    assert len(env.notices) == 1
    done = env.book.settle_pending_termination("c1")
    assert done["contract_terminate_info"]["contract_termination_mode"] == "CUSTOMER_SERVICE_TERMINATE"
    assert env.notices[-1].event_type == "INSURANCE_ENTRUST.TERMINATE"
    with pytest.raises(Refusal):
        env.book.settle_pending_termination("c1")
    with pytest.raises(ValueError, match="mode"):
        env.book.wechat_terminate("c1", mode="MCH_API_TERMINATE")


# -- policy periods: list, schedule, deduct, modify ------------------------------------------


def test_period_list_is_paged(env: Env) -> None:
    env.sign("c1", periods=5)
    path = f"{SIGN}/policy_periods/plan-id/{PLAN}/out-contract-code/c1"
    page = env.ok("GET", path, query={"limit": "2", "offset": "3"})
    assert (page["limit"], page["offset"], page["total_count"]) == (2, 3, 5)
    assert [p["policy_period_id"] for p in page["data"]] == [4, 5]
    assert page["data"][0] == {
        "policy_period_id": 4,
        "estimated_deduct_date": env.day(91),
        "estimated_deduct_amount": {"total": 1000, "currency": "CNY"},
        "policy_period_state": "NO_SCHEDULED",
    }
    assert len(env.ok("GET", path)["data"]) == 5
    reply = env.call("GET", path, query={"limit": "0"})
    refused(reply, 400, "PARAM_ERROR", "limit")
    assert reply.body is not None and reply.body["detail"]["location"] == "query"


def test_schedule_window_amount_and_once_only(env: Env) -> None:
    contract_id = env.sign("c1")["contract_id"]  # period 1 is due tomorrow, period 2 in 31 days
    refused(env.schedule(contract_id, 2), 403, "RULE_LIMIT")
    refused(env.schedule(contract_id, 1, total=999), 400, "INVALID_REQUEST")
    refused(env.schedule(contract_id, 1, appid="wx0000000000000000"), 400, "INVALID_REQUEST")
    refused(env.schedule(contract_id, 9), 404, "RESOURCE_NOT_EXISTS")
    refused(env.schedule("424242", 1), 404, "RESOURCE_NOT_EXISTS")
    refused(env.schedule(contract_id, 1, total=0), 400, "PARAM_ERROR", "scheduled_amount.total")
    assert env.schedule(contract_id, 1).body == {
        "policy_period_id": 1,
        "policy_period_state": "SCHEDULED",
        "deduct_start_date": env.day(1),
        "deduct_end_date": env.day(30),
        "scheduled_amount": {"total": 1000, "currency": "CNY"},
    }
    refused(env.schedule(contract_id, 1), 400, "INVALID_REQUEST")
    env.advance(days=30)  # the last deductible day
    assert env.period(contract_id, 1)["policy_period_state"] == "SCHEDULED"
    env.advance(days=1)
    assert env.period(contract_id, 1)["policy_period_state"] == "EXPIRED"


def test_scheduling_the_next_period_voids_the_previous_schedule(env: Env) -> None:
    contract_id = env.sign("c1")["contract_id"]  # period 2 is due in 31 days
    assert env.schedule(contract_id, 1).status == 200
    env.advance(days=29)
    refused(env.schedule(contract_id, 2), 403, "RULE_LIMIT")
    env.advance(days=1)
    assert env.schedule(contract_id, 2).status == 200
    assert env.period(contract_id, 1)["policy_period_state"] == "EXPIRED"


def test_a_period_can_be_scheduled_until_28_days_after_its_date(env: Env) -> None:
    early = env.sign("c1")["contract_id"]
    late = env.sign("c2")["contract_id"]
    env.advance(days=29)  # period 1 of both is 28 days old
    assert env.schedule(early, 1).status == 200
    env.advance(days=1)
    refused(env.schedule(late, 1), 403, "RULE_LIMIT")


def test_deduction_is_accepted_in_its_window_then_settled(env: Env) -> None:
    contract_id = env.sign("c1")["contract_id"]
    refused(env.apply(contract_id, 1, "t1"), 400, "INVALID_REQUEST")  # not scheduled yet
    env.schedule(contract_id, 1)
    refused(env.apply(contract_id, 1, "t1"), 403, "RULE_LIMIT")  # deductible from tomorrow
    env.advance(days=1)
    refused(env.apply(contract_id, 1, "t1", total=10), 400, "INVALID_REQUEST")
    accepted = env.apply(contract_id, 1, "t1")
    assert accepted.body == {"out_trade_no": "t1", "amount": {"total": 1000, "currency": "CNY"}}
    assert env.apply(contract_id, 1, "t1") == accepted  # identical replay
    refused(env.apply(contract_id, 1, "t1", total=999), 400, "INVALID_REQUEST")  # reuse, other content
    refused(env.apply(contract_id, 1, "t2"), 400, "INVALID_REQUEST")  # one deduction at a time
    assert env.period(contract_id, 1)["policy_period_state"] == "SCHEDULED"
    env.advance(days=2)
    paid = env.book.settle_deduction("t1")
    assert paid == env.period(contract_id, 1)
    assert (paid["policy_period_state"], paid["deduct_amount"]["total"], paid["deduct_date"]) == (
        "PAID",
        1000,
        env.day(0),
    )
    with pytest.raises(Refusal):
        env.book.settle_deduction("t1")
    refused(env.apply(contract_id, 1, "t3"), 400, "INVALID_REQUEST")


def test_a_failed_deduction_can_be_retried(env: Env) -> None:
    contract_id = env.sign("c1")["contract_id"]
    env.schedule(contract_id, 1)
    env.advance(days=1)
    env.apply(contract_id, 1, "t1")
    assert env.book.settle_deduction("t1", success=False)["policy_period_state"] == "SCHEDULED"
    assert env.apply(contract_id, 1, "t2").status == 200
    with pytest.raises(Refusal) as caught:
        env.book.settle_deduction("nope")
    assert caught.value.status == 404


def test_a_pending_deduction_fails_when_its_window_ends(env: Env) -> None:
    contract_id = env.sign("c1")["contract_id"]
    env.schedule(contract_id, 1)
    env.advance(days=1)
    env.apply(contract_id, 1, "t1")
    env.advance(days=30)
    assert env.period(contract_id, 1)["policy_period_state"] == "EXPIRED"
    with pytest.raises(Refusal, match="FAILED"):
        env.book.settle_deduction("t1")


def test_deduction_needs_an_effective_contract(env: Env) -> None:
    contract_id = env.sign("c1")["contract_id"]
    env.schedule(contract_id, 1)
    env.book.wechat_terminate("c1")
    env.advance(days=1)
    refused(env.apply(contract_id, 1, "t1"), 400, "INVALID_REQUEST")
    refused(env.schedule(contract_id, 2), 400, "INVALID_REQUEST")


def test_business_hours_are_enforced_on_request(env: Env) -> None:
    strict = Env(enforce_hours=True)
    contract_id = strict.sign("c1")["contract_id"]
    strict.now = dt.datetime(2025, 3, 3, 19, 31, tzinfo=BEIJING).timestamp()
    refused(strict.schedule(contract_id, 1), 403, "RULE_LIMIT")
    strict.now = dt.datetime(2025, 3, 3, 19, 29, tzinfo=BEIJING).timestamp()
    assert strict.schedule(contract_id, 1).status == 200
    lenient_id = env.sign("c1")["contract_id"]
    env.now = dt.datetime(2025, 3, 3, 23, 0, tzinfo=BEIJING).timestamp()
    assert env.schedule(lenient_id, 1).status == 200


def test_modify_only_lowers_amounts_with_daily_and_lifetime_limits(env: Env) -> None:
    contract_id = env.sign("c1", periods=6)["contract_id"]
    refused(env.modify(contract_id, {2: 1200}), 400, "PARAM_ERROR", "policy_periods[1].estimated_deduct_amount.total")
    refused(env.modify(contract_id, {2: 900, 3: 800}), 400, "PARAM_ERROR", "policy_periods")
    refused(env.modify(contract_id, {}), 400, "PARAM_ERROR", "policy_periods")
    answer = env.modify(contract_id, {2: 900, 3: 900})
    assert answer.status == 200 and answer.body is not None
    assert [p["estimated_deduct_amount"]["total"] for p in answer.body["policy_periods"]] == [
        1000,
        900,
        900,
        1000,
        1000,
        1000,
    ]
    assert "cancel_scheduled_policy_period_id" not in answer.body
    refused(env.modify(contract_id, {4: 900}), 403, "RULE_LIMIT")  # once a day
    for lower in (999, 998):
        env.advance(days=1)
        assert env.modify(contract_id, {6: lower}).status == 200
    env.advance(days=1)
    refused(env.modify(contract_id, {5: 500}), 403, "RULE_LIMIT")  # three times in a lifetime


def test_modify_checks_dates_and_cancels_a_schedule_only_when_allowed(env: Env) -> None:
    contract_id = env.sign("c1")["contract_id"]
    path = f"{SIGN}/policy-periods/plan-id/{PLAN}/contract-id/{contract_id}/modify"
    wrong_date = {"policy_period_id": 2, "estimated_deduct_date": env.day(40), "estimated_deduct_amount": {"total": 5}}
    refused(
        env.call("POST", path, {"appid": APPID, "policy_periods": [wrong_date]}),
        400,
        "PARAM_ERROR",
        "policy_periods[0].estimated_deduct_date",
    )
    env.schedule(contract_id, 1)
    refused(env.modify(contract_id, {1: 500}), 400, "INVALID_REQUEST")
    answer = env.modify(contract_id, {1: 500}, allow_cancel_scheduled=True)
    assert answer.body is not None and answer.body["cancel_scheduled_policy_period_id"] == 1
    assert env.period(contract_id, 1) == {"policy_period_id": 1, "policy_period_state": "NO_SCHEDULED"}
    refused(
        env.call(
            "POST",
            f"{SIGN}/policy-periods/plan-id/1/contract-id/{contract_id}/modify",
            {"appid": APPID, "policy_periods": [wrong_date]},
        ),
        404,
        "RESOURCE_NOT_EXISTS",
    )


def test_modify_closes_before_the_last_period_can_be_scheduled(env: Env) -> None:
    contract_id = env.sign("c1", periods=1, first_in=3)["contract_id"]  # due 2025-03-06
    env.now = dt.datetime(2025, 3, 5, 19, 0, tzinfo=BEIJING).timestamp()
    refused(env.modify(contract_id, {1: 800}), 403, "RULE_LIMIT")
    env.now = dt.datetime(2025, 3, 5, 18, 59, tzinfo=BEIJING).timestamp()
    assert env.modify(contract_id, {1: 900}).status == 200


# -- renewal ---------------------------------------------------------------------------------


def renewable(env: Env, code: str = "c1") -> str:
    """A renewable contract whose single period was paid today (sign-and-pay)."""
    pay: dict[str, Any] = {"amount": {"total": 1000}, "out_trade_no": f"t-{code}", "description": "premium"}
    return str(env.sign(code, periods=1, first_in=0, can_auto_insure=True, **pay)["contract_id"])


def test_renew_answers_204_appends_periods_and_notifies(env: Env) -> None:
    contract_id = renewable(env)
    assert env.contract("c1")["contract_state"] == "TO_BE_RENEWED"
    before = env.contract("c1")["contract_expired_time"]
    env.advance(days=5)
    reply = env.renew(contract_id, [(2, 25, 1500), (3, 55, 500)])  # the 50 % bounds
    assert (reply.status, reply.body) == (204, None)
    contract = env.contract("c1")
    assert contract["contract_state"] == "SIGNED"
    shifted = dt.datetime.fromisoformat(contract["contract_expired_time"]) - dt.datetime.fromisoformat(before)
    assert shifted == dt.timedelta(days=60)
    notice = env.notices[-1]
    assert (notice.event_type, notice.notify_url, notice.resource["contract_state"]) == (
        "INSURANCE_ENTRUST.RENEW",
        NOTIFY,
        "SIGNED",
    )
    listed = env.ok("GET", f"{SIGN}/policy_periods/plan-id/{PLAN}/out-contract-code/c1")["data"]
    assert [(p["policy_period_id"], p["policy_period_state"]) for p in listed] == [
        (1, "PAID"),
        (2, "NO_SCHEDULED"),
        (3, "NO_SCHEDULED"),
    ]
    refused(env.renew(contract_id, [(4, 85, 1000)]), 400, "INVALID_REQUEST")  # nothing of the new plan paid


def test_renew_waits_for_a_scheduled_last_period(env: Env) -> None:
    pay: dict[str, Any] = {"amount": {"total": 1000}, "out_trade_no": "t0", "description": "premium"}
    contract_id = env.sign("c1", periods=2, first_in=0, can_auto_insure=True, **pay)["contract_id"]
    env.advance(days=29)
    env.schedule(contract_id, 2)
    env.advance(days=1)
    assert env.contract("c1")["contract_state"] == "TO_BE_RENEWED"
    refused(env.renew(contract_id, [(3, 30, 1000)]), 400, "INVALID_REQUEST")
    env.apply(contract_id, 2, "t2")
    env.book.settle_deduction("t2")
    assert env.renew(contract_id, [(3, 30, 1000)]).status == 204


@pytest.mark.parametrize(
    ("periods", "field"),
    [
        ([(1, 30, 1000)], "policy_periods[0].policy_period_id"),
        ([(2, 40, 1000)], "policy_periods[0].estimated_deduct_date"),
        ([(2, 30, 1501)], "policy_periods[0].estimated_deduct_amount.total"),
        ([(2, 30, 499)], "policy_periods[0].estimated_deduct_amount.total"),
        ([(2, 30, 1000), (3, 50, 1000)], "policy_periods[1].estimated_deduct_date"),
    ],
)
def test_renew_period_rules(env: Env, periods: list[tuple[int, int, int]], field: str) -> None:
    refused(env.renew(renewable(env), periods), 400, "PARAM_ERROR", field)


def test_renew_is_refused_outside_its_window_and_for_ineligible_contracts(env: Env) -> None:
    contract_id = renewable(env)
    env.advance(days=30)
    refused(env.renew(contract_id, [(2, 1, 1000)]), 403, "RULE_LIMIT")
    plain = env.sign("c2", periods=1, first_in=0, amount={"total": 1000}, out_trade_no="t9", description="d")
    refused(env.renew(plain["contract_id"], [(2, 30, 1000)]), 400, "INVALID_REQUEST")  # not renewable
    unpaid = env.sign("c3", periods=1, can_auto_reinsure=True)["contract_id"]
    env.advance(days=2)
    refused(env.renew(unpaid, [(2, 30, 1000)]), 400, "INVALID_REQUEST")  # nothing paid
    terminated = renewable(env, "c4")
    env.book.wechat_terminate("c4")
    refused(env.renew(terminated, [(2, 30, 1000)]), 400, "INVALID_REQUEST")


def test_quarterly_plans_renew_later(env: Env) -> None:
    env.book.set_plan_frequency(PLAN, "QUARTER")
    contract_id = renewable(env)
    assert env.contract("c1")["contract_state"] == "SIGNED"
    refused(env.renew(contract_id, [(2, 90, 1000)]), 403, "RULE_LIMIT")
    env.advance(days=60)
    assert env.contract("c1")["contract_state"] == "TO_BE_RENEWED"
    assert env.renew(contract_id, [(2, 30, 1000)]).status == 204
    with pytest.raises(ValueError, match="frequency"):
        env.book.set_plan_frequency(PLAN, "WEEK")


# -- policy authorizations and policies ------------------------------------------------------


def auth_body(number: str = "A1", code: str = "c1", **extra: Any) -> dict[str, Any]:
    return {
        "out_insurance_no": number,
        "appid": APPID,
        "plan_id": str(PLAN),
        "out_contract_code": code,
        "insurance_name": "微医保·百万医疗险",
        **extra,
    }


def test_authorization_follows_the_signing_and_the_user(env: Env) -> None:
    path = "v3/inspolicymgr/deduct/authorizations"
    created = env.ok("POST", path, auth_body())
    assert created == {**auth_body(), "auth_state": "AUTH_STATE_INIT"}
    with pytest.raises(Refusal):
        env.book.user_grant("A1")  # nothing to grant before the contract is signed
    env.sign("c1")
    assert env.ok("GET", f"{path}/A1")["auth_state"] == "AUTH_STATE_PENDING"
    assert env.book.user_grant("A1", granted=False)["auth_state"] == "AUTH_STATE_DENIED"
    env.advance(seconds=30)
    granted = env.book.user_grant("A1")
    assert granted == env.ok("GET", f"{path}/A1")
    assert (granted["auth_state"], granted["user_auth_time"]) == ("AUTH_STATE_GRANTED", rfc3339(env.now))
    notice = env.notices[-1]
    assert (notice.event_type, notice.original_type, notice.notify_url) == (
        "INSURANCE_POLICY_MANAGEMENT.GRANTED",
        "insurance_policy_management",
        NOTIFY,
    )
    assert notice.resource == {
        "out_insurance_no": "A1",
        "insurance_name": "微医保·百万医疗险",
        "auth_state": "AUTH_STATE_GRANTED",
        "user_auth_time": rfc3339(env.now),
    }
    with pytest.raises(Refusal):
        env.book.user_grant("A1")


def test_authorization_uniqueness_validation_and_404(env: Env) -> None:
    path = "v3/inspolicymgr/deduct/authorizations"
    env.sign("c1")
    assert env.ok("POST", path, auth_body())["auth_state"] == "AUTH_STATE_PENDING"  # contract already signed
    assert env.ok("POST", path, auth_body())["auth_state"] == "AUTH_STATE_PENDING"  # identical replay
    refused(env.call("POST", path, auth_body(insurance_name="other")), 400, "INVALID_REQUEST")
    refused(env.call("POST", path, auth_body("A2", plan_id=PLAN)), 400, "PARAM_ERROR", "plan_id")
    refused(env.call("POST", path, auth_body("A2", insurance_name=None)), 400, "PARAM_ERROR", "insurance_name")
    refused(env.call("GET", f"{path}/A9"), 404, "RESOURCE_NOT_EXISTS")
    with pytest.raises(Refusal):
        env.book.user_grant("A9")


def test_authorizations_expire_with_their_signing(env: Env) -> None:
    path = "v3/inspolicymgr/deduct/authorizations"
    env.ok("POST", path, auth_body("A1", "c1"))
    env.ok("POST", path, auth_body("A2", "c2"))
    env.ok("POST", path, auth_body("A3", "c3"))
    env.ok("POST", f"{SIGN}/contracts/pre-entrust-sign/app", env.contract_body("c1"))
    env.ok("POST", f"{SIGN}/contracts/pre-entrust-sign/app", env.contract_body("c2"))
    env.book.user_sign("c2", success=False)
    assert env.ok("GET", f"{path}/A2")["auth_state"] == "AUTH_STATE_EXPIRED"
    env.advance(seconds=601)
    assert env.ok("GET", f"{path}/A1")["auth_state"] == "AUTH_STATE_EXPIRED"
    assert env.ok("GET", f"{path}/A3")["auth_state"] == "AUTH_STATE_INIT"
    env.advance(days=1)
    assert env.ok("GET", f"{path}/A3")["auth_state"] == "AUTH_STATE_EXPIRED"


def policy_body(number: str = "A1", **extra: Any) -> dict[str, Any]:
    return {
        "out_insurance_no": number,
        "insured_name_list": ["dENrMUpTVVYyUVVsQ1FVUkJUa0puYTNGb2EybEhPWGN3UQ=="],
        "insurance_company_code": "1001",
        "effective_time": "2025-03-04T00:00:00+08:00",
        "expired_time": "2026-03-03T23:59:59+08:00",
        "coverage_detail": "可保190种疾病，确诊一次性赔付",
        "support_renewal": True,
        "policy_type": "POLICY_TYPE_MEDICAL",
        "policy_state": "POLICY_STATE_ISSUING",
        "plan_id": str(PLAN),
        "out_contract_code": "c1",
        "policy_periods": [1, 2, 3],
        "appid": APPID,
        "openid": "openid-c1",
        "free_insurance": False,
        "payee_mchid": "1900000110",
        **extra,
    }


def test_policies_need_a_granted_authorization(env: Env) -> None:
    path = "v3/inspolicymgr/deduct/policies"
    refused(env.call("POST", path, policy_body()), 404, "RESOURCE_NOT_EXISTS")
    env.ok("POST", "v3/inspolicymgr/deduct/authorizations", auth_body())
    env.sign("c1")
    refused(env.call("POST", path, policy_body()), 400, "INVALID_REQUEST")
    env.book.user_grant("A1")
    refused(env.call("POST", path, policy_body(out_contract_code="c2")), 400, "INVALID_REQUEST")
    policy = env.ok("POST", path, policy_body())
    assert policy["insurance_name"] == "微医保·百万医疗险"
    assert not {"appid", "openid", "payee_mchid"} & set(policy)
    assert policy["policy_periods"] == [1, 2, 3]
    assert env.ok("POST", path, policy_body()) == policy == env.ok("GET", f"{path}/A1")
    refused(env.call("POST", path, policy_body(coverage_detail="other")), 400, "INVALID_REQUEST")
    refused(env.call("GET", f"{path}/A2"), 404, "RESOURCE_NOT_EXISTS")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"expired_time": "2025-03-01T00:00:00+08:00"}, "expired_time"),
        ({"effective_time": "2025-03-04 00:00:00"}, "effective_time"),
        ({"policy_type": "POLICY_TYPE_SPACE"}, "policy_type"),
        ({"insured_name_list": ["张三"]}, "insured_name_list[0]"),
        ({"insured_name_list": []}, "insured_name_list"),
        ({"policy_periods": ["1"]}, "policy_periods[0]"),
        ({"free_insurance": None}, "free_insurance"),
        ({"plan_id": "plan"}, "plan_id"),
    ],
)
def test_policy_validation_names_the_field(env: Env, change: dict[str, Any], field: str) -> None:
    refused(env.call("POST", "v3/inspolicymgr/deduct/policies", policy_body(**change)), 400, "PARAM_ERROR", field)


def test_policy_updates_follow_the_policy_state(env: Env) -> None:
    env.ok("POST", "v3/inspolicymgr/deduct/authorizations", auth_body())
    env.sign("c1")
    env.book.user_grant("A1")
    path = "v3/inspolicymgr/deduct/policies"
    env.ok("POST", path, policy_body())
    approved = env.ok("PATCH", f"{path}/A1", {"policy_state": "POLICY_STATE_APPROVED", "policy_code": "P-1"})
    assert (approved["policy_state"], approved["policy_code"]) == ("POLICY_STATE_APPROVED", "P-1")
    refused(env.call("PATCH", f"{path}/A1", {"policy_state": "POLICY_STATE_ISSUING"}), 400, "INVALID_REQUEST")
    refused(
        env.call("PATCH", f"{path}/A1", {"expired_time": "2025-01-01T00:00:00+08:00"}),
        400,
        "PARAM_ERROR",
        "expired_time",
    )
    refused(env.call("PATCH", f"{path}/A1", {"policy_type": "nope"}), 400, "PARAM_ERROR", "policy_type")
    assert env.ok("PATCH", f"{path}/A1", {"policy_state": "POLICY_STATE_INACTIVE"})["policy_state"] == (
        "POLICY_STATE_INACTIVE"
    )
    refused(env.call("PATCH", f"{path}/A1", {"address": "上海"}), 400, "INVALID_REQUEST")
    refused(env.call("PATCH", f"{path}/A9", {"address": "上海"}), 404, "RESOURCE_NOT_EXISTS")
    assert env.ok("GET", f"{path}/A1")["policy_code"] == "P-1"


# -- hire-power-bank -------------------------------------------------------------------------


def order_body(number: str = "6e8369071cd942c0476613f9d1ce9ca3", **extra: Any) -> dict[str, Any]:
    return {
        "out_order_no": number,
        "openid": "u1",
        "notify_url": "https://merchant.test/hpb",
        "service_id": "500001",
        **extra,
    }


def test_power_bank_order_is_confirmed_by_the_insurer(env: Env) -> None:
    path = "v3/hire-power-bank/insurance-orders"
    order = env.ok("POST", path, order_body())
    assert order["order_receive_state"] == "RECEIVING"
    assert order["order_receive_time"] == rfc3339(env.now)
    assert "order_begin_time" not in order and env.notices == []
    assert env.ok("POST", path, order_body()) == order  # identical replay
    refused(env.call("POST", path, order_body(service_id="other")), 400, "INVALID_REQUEST")
    assert env.ok("GET", "v3/hire-power-bank/user-qualifications/u1") == {"qualified_user": False}
    refused(env.call("POST", path, order_body("second")), 403, "RULE_LIMIT")
    env.advance(seconds=60)
    confirmed = env.book.insurer_confirm(order["out_order_no"], max_claim_count=3)
    [notice] = env.notices
    assert (notice.event_type, notice.notify_url) == ("HIRE_POWER_BANK.RECEIVE_INSURANCE", "https://merchant.test/hpb")
    assert notice.resource == confirmed == env.ok("GET", f"{path}/{order['out_order_no']}")
    assert set(confirmed) == {
        "order_id",
        "out_order_no",
        "openid",
        "max_claim_count",
        "claimed_count",
        "order_receive_time",
        "order_begin_time",
        "order_end_time",
        "order_receive_state",
    }
    assert (confirmed["order_receive_state"], confirmed["max_claim_count"], confirmed["claimed_count"]) == (
        "RECEIVED",
        3,
        0,
    )
    assert confirmed["order_begin_time"] == rfc3339(env.now)
    with pytest.raises(Refusal):
        env.book.insurer_confirm(order["out_order_no"])
    env.advance(days=1, seconds=1)
    assert env.ok("GET", "v3/hire-power-bank/user-qualifications/u1") == {"qualified_user": True}


def test_power_bank_validation_404_and_silent_orders(env: Env) -> None:
    path = "v3/hire-power-bank/insurance-orders"
    refused(env.call("POST", path, order_body("has space")), 400, "PARAM_ERROR", "out_order_no")
    refused(env.call("POST", path, order_body("x" * 33)), 400, "PARAM_ERROR", "out_order_no")
    refused(env.call("POST", path, order_body(openid=None)), 400, "PARAM_ERROR", "openid")
    refused(env.call("GET", f"{path}/missing"), 404, "ORDER_NOT_EXIST")
    env.book.set_user_qualified("u2", False)
    refused(env.call("POST", path, order_body("o-2", openid="u2")), 403, "RULE_LIMIT")
    env.book.set_user_qualified("u2", None)
    env.ok("POST", path, order_body("o-3|*_", openid="u2", notify_url=None))
    env.book.insurer_confirm("o-3|*_")
    assert env.notices == []  # no notify_url, no webhook


# -- insurance-compensation openings ---------------------------------------------------------


def compensation_body(number: str = "No123456", sub_mchid: str = "1900000109", **extra: Any) -> dict[str, Any]:
    agreement = {
        "agreement_code": "微信支付运营功能服务协议（平台二级商户）",
        "agreement_version": "20240815",
        "sign_organization": "温州名优贸易",
        "sign_time": "2024-08-08T10:34:56+08:00",
    }
    return {"out_apply_no": number, "sub_mchid": sub_mchid, "agreement_list": [agreement], **extra}


def test_compensation_opens_and_check_opened_needs_no_body(env: Env) -> None:
    path = "v3/platsolution/ecommerce/insurance-compensation-contracts"
    check = f"{path}/sub-mchid/1900000109/check-opened"
    assert env.ok("POST", check) == {"sub_mchid": "1900000109", "opened": False}
    opened = env.ok("POST", path, compensation_body())
    assert opened == {"sub_mchid": "1900000109", "opened": True, "success_time": rfc3339(env.now)}
    env.advance(seconds=100)
    assert env.ok("POST", check) == opened == env.ok("POST", path, compensation_body())
    refused(env.call("POST", path, compensation_body(sub_mchid="1900000110")), 400, "INVALID_REQUEST")


def test_compensation_opening_can_take_time(env: Env) -> None:
    slow = Env(compensation_delay=60)
    path = "v3/platsolution/ecommerce/insurance-compensation-contracts"
    assert slow.ok("POST", path, compensation_body())["opened"] is False
    slow.advance(seconds=59)
    assert slow.ok("POST", f"{path}/sub-mchid/1900000109/check-opened")["opened"] is False
    slow.advance(seconds=5)
    assert slow.ok("POST", f"{path}/sub-mchid/1900000109/check-opened")["success_time"] == rfc3339(START + 60)
    slow.ok("POST", path, compensation_body("No2", "1900000111"))
    assert slow.book.open_compensation("1900000111")["opened"] is True
    with pytest.raises(Refusal):
        slow.book.open_compensation("1")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"agreement_list": []}, "agreement_list"),
        ({"sub_mchid": "19x"}, "sub_mchid"),
        ({"out_apply_no": None}, "out_apply_no"),
    ],
)
def test_compensation_validation(env: Env, change: dict[str, Any], field: str) -> None:
    path = "v3/platsolution/ecommerce/insurance-compensation-contracts"
    refused(env.call("POST", path, compensation_body(**change)), 400, "PARAM_ERROR", field)


def test_compensation_agreement_times_are_rfc3339(env: Env) -> None:
    body = compensation_body()
    body["agreement_list"][0]["sign_time"] = "2024-08-08"
    path = "v3/platsolution/ecommerce/insurance-compensation-contracts"
    refused(env.call("POST", path, body), 400, "PARAM_ERROR", "agreement_list[0].sign_time")


# -- merchant identity -------------------------------------------------------------------------


def test_appid_hint_binds_the_merchant_appid() -> None:
    bound = Env(appid_hint=APPID)
    assert bound.sign("c1")["appid"] == APPID
    body = {**bound.contract_body("c2"), "appid": "wx0000000000000000"}
    refused(bound.call("POST", f"{SIGN}/contracts/pre-entrust-sign/app", body), 400, "APPID_MCHID_NOT_MATCH")
    refused(
        bound.call("POST", "v3/inspolicymgr/deduct/authorizations", auth_body(appid="wx1")),
        400,
        "APPID_MCHID_NOT_MATCH",
    )
