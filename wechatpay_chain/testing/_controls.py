"""The emulator's HTTP controls under `/_emulator/`: play the user, the insurer and the clock, over JSON.

They mirror the Python API (`emu.insurance.*`, `emu.advance`, `emu.fault`, ...) for test suites
written in any language. They are not WeChat Pay endpoints: unauthenticated and unsigned.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from ._insurance import InsuranceError

if TYPE_CHECKING:
    from ._emulator import Emulator

JSON_TYPE = "application/json; charset=utf-8"

# The InsuranceBook methods a test may call over HTTP, by route name.
INSURANCE_CONTROLS = (
    "user_sign",
    "user_grant",
    "insurer_confirm",
    "wechat_terminate",
    "settle_pending_termination",
    "settle_deduction",
    "open_compensation",
    "set_plan_frequency",
    "set_product_enabled",
    "set_user_qualified",
)


class ControlError(Exception):
    """A control request that cannot be carried out; answered as `{code, message}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


Control = Callable[["Emulator", dict[str, Any], Mapping[str, str]], Awaitable[Any]]


def _reply(status: int, payload: Any) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(payload), headers={"Content-Type": JSON_TYPE})


async def serve(emu: Emulator, method: str, path: str, query: Mapping[str, str], body: bytes) -> web.Response:
    """Answer one control request (`path` is relative to `/_emulator/`)."""
    try:
        control = _find(method, path.strip("/"))
        result = await control(emu, _payload(body), query)
    except ControlError as exc:
        return _reply(exc.status, {"code": exc.code, "message": exc.message})
    except InsuranceError as exc:
        reply = exc.reply()
        return _reply(reply.status, reply.body)
    return _reply(200, result)


def _payload(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ControlError(400, "PARAM_ERROR", "the control body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise ControlError(400, "PARAM_ERROR", "the control body must be a JSON object")
    return payload


def _find(method: str, path: str) -> Control:
    family, _, action = path.partition("/")
    if family == "insurance" and action:
        if method != "POST":
            raise ControlError(405, "METHOD_NOT_ALLOWED", f"insurance controls are POST, not {method}")
        return _insurance_control(action.replace("-", "_"))
    routes = ROUTES.get(path)
    if routes is None:
        raise ControlError(404, "NOT_FOUND", f"no control {path!r}; GET /_emulator/ lists them")
    control = routes.get(method)
    if control is None:
        raise ControlError(405, "METHOD_NOT_ALLOWED", f"/_emulator/{path} takes {', '.join(sorted(routes))}")
    return control


def _number(payload: Mapping[str, Any], name: str) -> float:
    value = payload[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ControlError(400, "PARAM_ERROR", f"{name} must be a number of seconds")
    return float(value)


# -- the controls ---------------------------------------------------------------------------


async def _info(emu: Emulator, payload: dict[str, Any], query: Mapping[str, str]) -> dict[str, Any]:
    creds = emu.credentials
    return {
        "base_url": emu.base_url,
        "mchid": creds.mchid,
        "serial": creds.serial,
        "platform_serials": [p.serial for p in creds.platform],
        "public_key_id": creds.public_key_id,
        "public_key_only": emu.public_key_only,
        "now": emu.now(),
        "clock_offset": emu.clock_offset,
        "pending_notifications": emu.webhooks.pending,
        "controls": sorted(ROUTES) + [f"insurance/{name.replace('_', '-')}" for name in INSURANCE_CONTROLS],
    }


async def _clock(emu: Emulator, payload: dict[str, Any], query: Mapping[str, str]) -> dict[str, Any]:
    return {"now": emu.now(), "clock_offset": emu.clock_offset}


async def _set_clock(emu: Emulator, payload: dict[str, Any], query: Mapping[str, str]) -> dict[str, Any]:
    given = [name for name in ("advance", "offset", "now") if name in payload]
    if len(given) != 1:
        raise ControlError(400, "PARAM_ERROR", "give exactly one of advance, offset or now (seconds)")
    value = _number(payload, given[0])
    if given[0] == "advance":
        emu.advance(value)
    elif given[0] == "offset":
        emu.clock_offset = value
    else:
        emu.advance(value - emu.now())
    return await _clock(emu, payload, query)


async def _faults(emu: Emulator, payload: dict[str, Any], query: Mapping[str, str]) -> dict[str, Any]:
    return {"data": [fault.as_json() for fault in emu.faults]}


async def _add_fault(emu: Emulator, payload: dict[str, Any], query: Mapping[str, str]) -> dict[str, Any]:
    settings = dict(payload)
    kind = settings.pop("kind", None)
    template = settings.pop("path", "{path}")
    times = settings.pop("times", None)
    params = {**settings.pop("params", {}), **settings}
    if not isinstance(kind, str) or not isinstance(template, str):
        raise ControlError(400, "PARAM_ERROR", "kind (a fault kind) and path (a URI template) must be strings")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise ControlError(400, "PARAM_ERROR", "times must be a positive integer, or absent for until cleared")
    try:
        emu.fault(kind, template, times=times, **params)
    except ValueError as exc:
        raise ControlError(400, "PARAM_ERROR", str(exc)) from None
    return await _faults(emu, payload, query)


async def _clear_faults(emu: Emulator, payload: dict[str, Any], query: Mapping[str, str]) -> dict[str, Any]:
    emu.clear_faults()
    return {"data": []}


async def _requests(emu: Emulator, payload: dict[str, Any], query: Mapping[str, str]) -> dict[str, Any]:
    data = [
        {
            "method": r.method,
            "target": r.target,
            "headers": {str(name): value for name, value in r.headers.items()},
            "body": r.body.decode("utf-8", "replace"),
        }
        for r in emu.received
    ]
    return {"data": data, "total_count": len(data)}


async def _clear_requests(emu: Emulator, payload: dict[str, Any], query: Mapping[str, str]) -> dict[str, Any]:
    emu.received.clear()
    return {"data": [], "total_count": 0}


async def _deliveries(emu: Emulator, payload: dict[str, Any], query: Mapping[str, str]) -> dict[str, Any]:
    event_type = query.get("event_type")
    data = [d.as_json() for d in emu.deliveries if event_type in (None, d.event_type)]
    return {"data": data, "total_count": len(data), "pending": emu.webhooks.pending}


async def _wait_delivery(emu: Emulator, payload: dict[str, Any], query: Mapping[str, str]) -> dict[str, Any]:
    event_type = payload.get("event_type")
    timeout = _number(payload, "timeout") if "timeout" in payload else 5.0
    try:
        delivery = await emu.wait_delivered(event_type, timeout=timeout)
    except TimeoutError as exc:
        raise ControlError(408, "TIMEOUT", str(exc)) from None
    return delivery.as_json()


async def _rotate(emu: Emulator, payload: dict[str, Any], query: Mapping[str, str]) -> dict[str, Any]:
    serial = emu.rotate_certificate()
    return {"serial": serial, "platform_serials": [p.serial for p in emu.credentials.platform]}


def _insurance_control(name: str) -> Control:
    if name == "user_deny":
        name, preset = "user_grant", {"granted": False}
    elif name in INSURANCE_CONTROLS:
        preset = {}
    else:
        raise ControlError(404, "NOT_FOUND", f"no insurance control {name!r}; one of {', '.join(INSURANCE_CONTROLS)}")

    async def control(emu: Emulator, payload: dict[str, Any], query: Mapping[str, str]) -> Any:
        method = getattr(emu.insurance, name)
        arguments = {**payload, **preset}
        try:
            inspect.signature(method).bind(**arguments)
        except TypeError as exc:
            raise ControlError(400, "PARAM_ERROR", f"insurance/{name}: {exc}") from None
        try:
            return method(**arguments)
        except ValueError as exc:
            raise ControlError(400, "PARAM_ERROR", f"insurance/{name}: {exc}") from None

    return control


ROUTES: dict[str, dict[str, Control]] = {
    "": {"GET": _info},
    "clock": {"GET": _clock, "POST": _set_clock},
    "faults": {"GET": _faults, "POST": _add_fault, "DELETE": _clear_faults},
    "requests": {"GET": _requests, "DELETE": _clear_requests},
    "deliveries": {"GET": _deliveries},
    "deliveries/wait": {"POST": _wait_delivery},
    "certificates/rotate": {"POST": _rotate},
}
