"""APIv2 payments: orders (unifiedorder, micropay, orderquery, closeorder), refunds over mutual TLS, bills.

An order placed with `pay/unifiedorder` is NOTPAY until the user pays (`user_pay`: SUCCESS and the
payment notification, XML signed with the order's sign type). `pay/micropay` charges at once, or
answers USERPAYING above `password_above` fen until the user enters the password (`user_pay`).
A refund (`secapi/pay/refund`, the merchant certificate required) is PROCESSING until
`settle_refund`, which sends the refund notification with its `req_info` encrypted. Bills
(`pay/downloadbill`, `pay/downloadfundflow`) are synthetic CSVs of `bill_size` bytes, for days
before today.

The orders are kept by out_trade_no in `orders`; an APIv3 payments family can share them by
reading and writing the same `V2Order` records (see the module's last section).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp.payload import AsyncIterablePayload

from ..._errors import XmlError
from ..._v2 import xml
from ..._v2.signing import MD5
from .._apiv2 import ApiV2, business, lack_params, request_fields, v2_payment_notification, v2_refund_notification
from .._controls import Control
from .._credentials import Credentials
from .._http import Answer, Incoming
from .._ids import Ids
from .._notices import Notice
from .._routing import Params, Route
from .._time import beijing
from .._validation import flag, text
from .bills import Bill, send

PAYMENT_EVENT = "TRANSACTION.SUCCESS"  # the event types the v2 notifications are delivered under
REFUND_EVENTS = {"SUCCESS": "REFUND.SUCCESS", "CHANGE": "REFUND.ABNORMAL", "REFUNDCLOSE": "REFUND.CLOSED"}
TRADE_TYPES = ("JSAPI", "NATIVE", "APP", "MWEB")
AUTH_CODE = re.compile(r"1[0-5]\d{16}")
TRADE_STATE_DESC = {
    "SUCCESS": "支付成功",
    "REFUND": "转入退款",
    "NOTPAY": "订单未支付",
    "CLOSED": "订单已关闭",
    "USERPAYING": "需要用户输入支付密码",
    "PAYERROR": "支付失败",
}
UNIFIEDORDER = ("appid", "mch_id", "body", "out_trade_no", "total_fee", "spbill_create_ip", "notify_url", "trade_type")
MICROPAY = ("appid", "mch_id", "body", "out_trade_no", "total_fee", "spbill_create_ip", "auth_code")
REFUND = ("appid", "mch_id", "out_refund_no", "total_fee", "refund_fee")
DEFAULT_BILL_SIZE = 16 * 1024

PostXml = Callable[[Notice, Mapping[str, str], bytes, Callable[[bytes], "str | None"]], object]
"""How the family sends a notification: `Webhooks.post(notice, headers, body, acknowledged)`."""


@dataclass(slots=True)
class V2Order:
    """An order, as orderquery shows it."""

    out_trade_no: str
    request: dict[str, str]  # the fields that placed it (nonce and sign left out)
    trade_type: str
    state: str  # NOTPAY | USERPAYING | SUCCESS | REFUND | CLOSED
    prepay_id: str = ""
    transaction_id: str = ""
    openid: str = ""
    time_end: str = ""
    refunded: int = 0  # fen refunded so far

    @property
    def total_fee(self) -> int:
        """The order's amount, in fen."""
        return int(self.request["total_fee"])

    @property
    def paid(self) -> bool:
        """Whether the user paid it (refunds may follow)."""
        return self.state in ("SUCCESS", "REFUND")


@dataclass(slots=True)
class V2Refund:
    """A refund, as refundquery shows it."""

    out_refund_no: str
    refund_id: str
    order: V2Order
    request: dict[str, str]
    state: str = "PROCESSING"  # PROCESSING | SUCCESS | CHANGE | REFUNDCLOSE
    success_time: str = ""

    @property
    def refund_fee(self) -> int:
        """The refunded amount, in fen."""
        return int(self.request["refund_fee"])


@dataclass(frozen=True, slots=True)
class _Ask:
    """One call's fields, read once."""

    fields: dict[str, str]


class PaymentsV2:
    """The APIv2 payment endpoints and their records (`emu.payments_v2`)."""

    def __init__(
        self,
        *,
        wire: ApiV2,
        clock: Callable[[], float],
        ids: Ids,
        credentials: Callable[[], Credentials],
        post: PostXml,
    ) -> None:
        self._wire = wire
        self._clock = clock
        self._ids = ids
        self._credentials = credentials
        self._post = post
        self.orders: dict[str, V2Order] = {}
        self.refunds: dict[str, V2Refund] = {}  # by out_refund_no
        self.password_above = 100_000
        """micropay asks for the password (USERPAYING) above this many fen."""
        self.bill_size = DEFAULT_BILL_SIZE
        """Bytes (at least) of each bill downloaded."""

    # -- routes and controls -------------------------------------------------------------

    def routes(self) -> list[Route]:
        """The v2 payment endpoints, all on the APIv2 wire."""
        handlers = {
            "pay/unifiedorder": self._unifiedorder,
            "pay/micropay": self._micropay,
            "pay/orderquery": self._orderquery,
            "pay/closeorder": self._closeorder,
            "secapi/pay/refund": self._refund,
            "pay/refundquery": self._refundquery,
            "pay/downloadbill": self._downloadbill,
            "pay/downloadfundflow": self._downloadfundflow,
        }
        return [Route("POST", path, _reading(run), wire=self._wire) for path, run in handlers.items()]

    def controls(self) -> tuple[Control, ...]:
        """`apiv2/user-pay` and `apiv2/settle-refund`."""
        return (
            Control(
                "POST",
                "apiv2/user-pay",
                self.user_pay,
                (text("out_trade_no", req=True), text("openid")),
                doc="the user pays an APIv2 order (or enters the micropay password): SUCCESS + notification",
            ),
            Control(
                "POST",
                "apiv2/settle-refund",
                self.settle_refund,
                (text("out_refund_no", req=True), flag("success")),
                doc="an APIv2 refund ends: SUCCESS (or CHANGE) + refund notification",
            ),
        )

    # -- what tests do (the user, the bank) -----------------------------------------------

    def user_pay(self, out_trade_no: str, openid: str | None = None) -> dict[str, Any]:
        """The user pays the order (or enters the password of a micropay): SUCCESS, and the notification."""
        order = self._order(out_trade_no)
        if order.state not in ("NOTPAY", "USERPAYING"):
            raise ValueError(f"order {out_trade_no} is {order.state}, not waiting for the user")
        self._settle(order, openid or order.request.get("openid") or f"o_{out_trade_no}")
        notify_url = order.request.get("notify_url")
        if notify_url:
            self._notify_payment(order, notify_url)
        return self._query_view(order)

    def settle_refund(self, out_refund_no: str, success: bool = True) -> dict[str, Any]:
        """A refund ends: SUCCESS (or CHANGE, a refund that could not reach the user), and its notification."""
        refund = self.refunds.get(out_refund_no)
        if refund is None:
            raise ValueError(f"no refund {out_refund_no}")
        if refund.state != "PROCESSING":
            raise ValueError(f"refund {out_refund_no} is {refund.state} already")
        refund.state = "SUCCESS" if success else "CHANGE"
        refund.success_time = beijing(self._clock()).strftime("%Y-%m-%d %H:%M:%S") if success else ""
        notify_url = refund.request.get("notify_url")
        if notify_url:
            self._notify_refund(refund, notify_url)
        return {"out_refund_no": out_refund_no, "refund_status": refund.state}

    # -- orders ---------------------------------------------------------------------------

    def _unifiedorder(self, ask: _Ask) -> Answer:
        fields = ask.fields
        missing = _missing(fields, UNIFIEDORDER) or _amount(fields)
        if missing:
            return missing
        if fields["trade_type"] not in TRADE_TYPES:
            return business("PARAM_ERROR", f"trade_type参数错误: {fields['trade_type']}")
        if fields["trade_type"] == "JSAPI" and not fields.get("openid"):
            return business("PARAM_ERROR", "trade_type=JSAPI时（即JSAPI支付），必须传openid")
        order = self.orders.get(fields["out_trade_no"])
        if order is not None:
            refused = _reused(order, fields)
            if refused is not None:
                return refused
        else:
            order = V2Order(fields["out_trade_no"], _request(fields), fields["trade_type"], "NOTPAY")
            order.prepay_id = "wx" + beijing(self._clock()).strftime("%d%H%M%S") + self._ids.next(10**20)[-22:]
            self.orders[order.out_trade_no] = order
        answer = {"result_code": "SUCCESS", "trade_type": order.trade_type, "prepay_id": order.prepay_id}
        if order.trade_type == "NATIVE":
            answer["code_url"] = f"weixin://wxpay/bizpayurl?pr={order.prepay_id[-7:]}"
        if order.trade_type == "MWEB":
            answer["mweb_url"] = f"https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id={order.prepay_id}"
        return Answer(200, answer)

    def _micropay(self, ask: _Ask) -> Answer:
        fields = ask.fields
        missing = _missing(fields, MICROPAY) or _amount(fields)
        if missing:
            return missing
        if not AUTH_CODE.fullmatch(fields["auth_code"]):
            return business("AUTH_CODE_INVALID", "请扫描微信支付授权码(以10/11/12/13/14/15为前缀的18位数字)")
        order = self.orders.get(fields["out_trade_no"])
        if order is not None:
            if order.paid and order.request == _request(fields):
                return business("ORDERPAID", "订单已支付")
            return business("OUT_TRADE_NO_USED", "商户订单号重复")
        order = V2Order(fields["out_trade_no"], _request(fields), "MICROPAY", "USERPAYING")
        self.orders[order.out_trade_no] = order
        if order.total_fee > self.password_above:
            return business("USERPAYING", "需要用户输入支付密码")
        self._settle(order, f"o_{fields['auth_code'][-8:]}")
        return Answer(200, {"result_code": "SUCCESS", **self._paid_fields(order)})

    def _orderquery(self, ask: _Ask) -> Answer:
        order = self._find(ask.fields)
        if order is None:
            return business("ORDERNOTEXIST", "此交易订单号不存在")
        return Answer(200, {"result_code": "SUCCESS", **self._query_view(order)})

    def _closeorder(self, ask: _Ask) -> Answer:
        missing = _missing(ask.fields, ("out_trade_no",))
        if missing:
            return missing
        order = self.orders.get(ask.fields["out_trade_no"])
        if order is None:
            return business("ORDERNOTEXIST", "订单不存在")
        if order.paid:
            return business("ORDERPAID", "订单已支付，不能发起关单")
        if order.state == "CLOSED":
            return business("ORDERCLOSED", "订单已关闭，无法重复关闭")
        order.state = "CLOSED"
        return Answer(200, {"result_code": "SUCCESS", "result_msg": "OK"})

    # -- refunds --------------------------------------------------------------------------

    def _refund(self, ask: _Ask) -> Answer:
        fields = ask.fields
        missing = _missing(fields, REFUND)
        if missing:
            return missing
        order = self._find(fields)
        if order is None:
            return business("ORDERNOTEXIST", "订单不存在")
        known = self.refunds.get(fields["out_refund_no"])
        if known is not None:
            if known.request != _request(fields) or known.order is not order:
                return business("PARAM_ERROR", "退款单号重复，且与之前的退款请求参数不一致")
            return Answer(200, {"result_code": "SUCCESS", **self._refund_view(known)})
        if not order.paid:
            return business("ERROR", "订单未支付，不能退款")
        try:
            total, amount = int(fields["total_fee"]), int(fields["refund_fee"])
        except ValueError:
            return business("PARAM_ERROR", "total_fee或refund_fee参数格式错误")
        if total != order.total_fee:
            return business("PARAM_ERROR", "订单金额total_fee与实际支付金额不符")
        if not 0 < amount <= order.total_fee - order.refunded:
            return business("ERROR", "申请退款金额超过订单可退金额")
        refund = V2Refund(fields["out_refund_no"], self._ids.next(5 * 10**27), order, _request(fields))
        self.refunds[refund.out_refund_no] = refund
        order.refunded += amount
        order.state = "REFUND"
        return Answer(200, {"result_code": "SUCCESS", **self._refund_view(refund)})

    def _refundquery(self, ask: _Ask) -> Answer:
        fields = ask.fields
        found = [
            refund
            for refund in self.refunds.values()
            if fields.get("refund_id") in (None, refund.refund_id)
            and fields.get("out_refund_no") in (None, refund.out_refund_no)
            and fields.get("transaction_id") in (None, refund.order.transaction_id)
            and fields.get("out_trade_no") in (None, refund.order.out_trade_no)
        ]
        keys = ("refund_id", "out_refund_no", "transaction_id", "out_trade_no")
        if not found or not any(name in fields for name in keys):
            return business("REFUNDNOTEXIST", "退款订单查询失败")
        order = found[0].order
        answer: dict[str, Any] = {
            "result_code": "SUCCESS",
            "transaction_id": order.transaction_id,
            "out_trade_no": order.out_trade_no,
            "total_fee": order.total_fee,
            "cash_fee": order.total_fee,
            "refund_count": len(found),
        }
        for n, refund in enumerate(found):
            answer.update(
                {
                    f"out_refund_no_{n}": refund.out_refund_no,
                    f"refund_id_{n}": refund.refund_id,
                    f"refund_fee_{n}": refund.refund_fee,
                    f"refund_status_{n}": refund.state,
                    f"refund_recv_accout_{n}": "支付用户的零钱",
                }
            )
            if refund.success_time:
                answer[f"refund_success_time_{n}"] = refund.success_time
        return Answer(200, answer)

    # -- bills ----------------------------------------------------------------------------

    def _downloadbill(self, ask: _Ask) -> Answer:
        bill_type = ask.fields.get("bill_type", "ALL")
        if bill_type not in ("ALL", "SUCCESS", "REFUND", "RECHARGE_REFUND"):
            return _bill_error("invalid bill_type", "20003")
        return self._bill("tradebill", ask.fields)

    def _downloadfundflow(self, ask: _Ask) -> Answer:
        if ask.fields.get("account_type") not in ("Basic", "Operation", "Fees"):
            return _bill_error("invalid account_type", "20003")
        return self._bill("fundflowbill", ask.fields)

    def _bill(self, kind: str, fields: Mapping[str, str]) -> Answer:
        try:
            day = dt.datetime.strptime(fields.get("bill_date", ""), "%Y%m%d").date()
        except ValueError:
            return _bill_error("invalid bill_date", "20001")
        if day >= beijing(self._clock()).date():
            return _bill_error("No Bill Exist", "20002")
        tar_type = fields.get("tar_type")
        if tar_type not in (None, "GZIP"):
            return _bill_error("invalid tar_type", "20003")
        bill = Bill(kind, day.isoformat(), self._credentials().mchid, self.bill_size, tar_type == "GZIP")
        content_type = "application/x-gzip" if bill.gzip else "text/plain; charset=utf-8"
        return Answer(200, AsyncIterablePayload(send(bill, None), content_type=content_type))

    # -- notifications --------------------------------------------------------------------

    def _notify_payment(self, order: V2Order, url: str) -> None:
        creds = self._credentials()
        fields = {
            "appid": order.request.get("appid"),
            "mch_id": creds.mchid,
            "result_code": "SUCCESS",
            "is_subscribe": "N",
            **self._paid_fields(order),
            "attach": order.request.get("attach"),
        }
        body = v2_payment_notification(fields, creds.apiv2_key, order.request.get("sign_type", MD5))
        self._send(Notice(url, PAYMENT_EVENT, "", "", fields), body)

    def _notify_refund(self, refund: V2Refund, url: str) -> None:
        creds = self._credentials()
        order = refund.order
        sealed = {
            "transaction_id": order.transaction_id,
            "out_trade_no": order.out_trade_no,
            "refund_id": refund.refund_id,
            "out_refund_no": refund.out_refund_no,
            "total_fee": order.total_fee,
            "settlement_total_fee": order.total_fee,
            "refund_fee": refund.refund_fee,
            "settlement_refund_fee": refund.refund_fee,
            "refund_status": refund.state,
            "success_time": refund.success_time or None,
            "refund_recv_accout": "支付用户的零钱",
            "refund_account": "REFUND_SOURCE_RECHARGE_FUNDS",
            "refund_request_source": "API",
        }
        body = v2_refund_notification(sealed, creds.apiv2_key, appid=order.request.get("appid", ""), mch_id=creds.mchid)
        self._send(Notice(url, REFUND_EVENTS[refund.state], "", "", sealed), body)

    def _send(self, notice: Notice, body: bytes) -> None:
        self._post(notice, {"Content-Type": "text/xml"}, body, acknowledged)

    # -- shared ---------------------------------------------------------------------------

    def _settle(self, order: V2Order, openid: str) -> None:
        order.state = "SUCCESS"
        order.openid = openid
        order.transaction_id = self._ids.next(4200000000 * 10**18)
        order.time_end = beijing(self._clock()).strftime("%Y%m%d%H%M%S")

    def _paid_fields(self, order: V2Order) -> dict[str, Any]:
        return {
            "openid": order.openid,
            "trade_type": order.trade_type,
            "bank_type": "OTHERS",
            "total_fee": order.total_fee,
            "fee_type": "CNY",
            "cash_fee": order.total_fee,
            "transaction_id": order.transaction_id,
            "out_trade_no": order.out_trade_no,
            "time_end": order.time_end,
        }

    def _query_view(self, order: V2Order) -> dict[str, Any]:
        view: dict[str, Any] = {
            "trade_state": order.state,
            "trade_state_desc": TRADE_STATE_DESC[order.state],
            "out_trade_no": order.out_trade_no,
            "total_fee": order.total_fee,
        }
        if order.paid:
            view.update(self._paid_fields(order))
        return view

    def _refund_view(self, refund: V2Refund) -> dict[str, Any]:
        return {
            "transaction_id": refund.order.transaction_id,
            "out_trade_no": refund.order.out_trade_no,
            "out_refund_no": refund.out_refund_no,
            "refund_id": refund.refund_id,
            "refund_fee": refund.refund_fee,
            "total_fee": refund.order.total_fee,
            "cash_fee": refund.order.total_fee,
        }

    def _find(self, fields: Mapping[str, str]) -> V2Order | None:
        if "out_trade_no" in fields:
            return self.orders.get(fields["out_trade_no"])
        transaction_id = fields.get("transaction_id")
        return next((o for o in self.orders.values() if transaction_id and o.transaction_id == transaction_id), None)

    def _order(self, out_trade_no: str) -> V2Order:
        order = self.orders.get(out_trade_no)
        if order is None:
            raise ValueError(f"no APIv2 order {out_trade_no}")
        return order


def acknowledged(reply: bytes) -> str | None:
    """None when a merchant's reply to a v2 notification is `return_code` SUCCESS, else why not."""
    try:
        code = xml.loads(reply).get("return_code")
    except XmlError:
        return "the receiver's reply is not XML"
    return None if code == "SUCCESS" else f"the receiver answered return_code {code!r}"


def _reading(run: Callable[[_Ask], Answer]) -> Callable[[Incoming, Params], Answer]:
    def handle(incoming: Incoming, params: Params) -> Answer:
        return run(_Ask(request_fields(incoming)))

    return handle


def _missing(fields: Mapping[str, str], required: tuple[str, ...]) -> Answer | None:
    for name in required:
        if not fields.get(name):
            return lack_params(name)
    return None


def _amount(fields: Mapping[str, str]) -> Answer | None:
    if not fields["total_fee"].isdigit() or int(fields["total_fee"]) < 1:
        return business("PARAM_ERROR", "total_fee参数错误：订单金额以分为单位，为正整数")
    return None


def _request(fields: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in fields.items() if k not in ("nonce_str", "sign")}


def _reused(order: V2Order, fields: Mapping[str, str]) -> Answer | None:
    if order.paid:
        return business("ORDERPAID", "该订单已支付")
    if order.state == "CLOSED":
        return business("ORDERCLOSED", "当前订单已关闭，无法支付")
    if order.request != _request(fields):
        return business("INVALID_REQUEST", "201 商户订单号重复")
    return None


def _bill_error(message: str, code: str) -> Answer:
    # Bills answer errors unsigned, with `error_code` (not err_code), as WeChat Pay documents.
    return Answer(200, {"return_code": "FAIL", "return_msg": message, "error_code": code})
