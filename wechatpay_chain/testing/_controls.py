"""The emulator's HTTP controls under `/_emulator/`: a table of explicitly declared controls, served as JSON.

Each part of the emulator (the clock, faults, the request log, webhooks, each product family)
declares its controls: a method, a path, the parameters with their specs, and the function that
carries them out, called with the parameters as keyword arguments. Nothing is looked up by name
at run time: renaming a Python method changes no control, and the table is the documentation
(`EMULATOR.md`). GET controls read their parameters from the query string, the others from a
JSON object body; unknown body fields are refused. Controls are not WeChat Pay endpoints:
unauthenticated, unsigned, never recorded or faulted.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from ._http import Answer, Refusal, error
from ._validation import Specs, read_strings, validate

PREFIX = "/_emulator/"


@dataclass(frozen=True, slots=True)
class Control:
    """One control: `method PREFIX+path` runs `run(**parameters)`; its result is answered as JSON."""

    method: str
    path: str  # relative to PREFIX, words joined by hyphens: "insurance/user-sign"
    run: Callable[..., Any]  # may be a coroutine function
    params: Specs = ()
    doc: str = ""
    preset: Mapping[str, Any] = field(default_factory=dict)  # arguments fixed by the control itself
    rest: str | None = None  # the parameter that receives undeclared fields as a dict (else refused)

    def arguments(self, payload: Any, query: Mapping[str, str]) -> dict[str, Any]:
        """The keyword arguments for `run`, checked against the parameter specs; Refusal 400 naming the bad one."""
        try:
            if self.method == "GET":
                return {**read_strings(query, self.params, "query"), **self.preset}
            document = {} if payload is None else payload
            known = validate(document, self.params)
        except Refusal as refusal:
            raise Refusal(refusal.status, refusal.code, f"{self.path}: {refusal.message}", refusal.detail) from None
        extra = {k: v for k, v in document.items() if k not in {p.name for p in self.params}}
        if self.rest is not None:
            known[self.rest] = {**known.get(self.rest, {}), **extra}
        elif extra:
            takes = ", ".join(p.name for p in self.params) or "no parameters"
            raise Refusal(400, "PARAM_ERROR", f"{self.path}: unknown field {next(iter(extra))} (takes {takes})")
        return {**known, **self.preset}


class Controls:
    """The control table: every control of the emulator, by path and method."""

    def __init__(self, controls: Iterable[Control] = ()) -> None:
        self._table: dict[str, dict[str, Control]] = {}
        for control in controls:
            self.add(control)

    def add(self, control: Control) -> None:
        """Serve `control`; a path and method declared twice is a programming error."""
        methods = self._table.setdefault(control.path, {})
        if control.method in methods:
            raise ValueError(f"control {control.method} {PREFIX}{control.path} is declared twice")
        methods[control.method] = control

    def __iter__(self) -> Iterator[Control]:
        for methods in self._table.values():
            yield from methods.values()

    @property
    def paths(self) -> list[str]:
        """Every control path, sorted."""
        return sorted(self._table)

    def describe(self) -> dict[str, Any]:
        """`{data: [{method, path, params: [{name, kind, required, enum?}], doc}]}`, by path."""
        return {"data": [_described(control) for path in self.paths for control in self._table[path].values()]}

    def find(self, method: str, path: str) -> Control:
        """The control for `method path` (underscores read as hyphens); Refusal 404 or 405 otherwise."""
        path = path.strip("/").replace("_", "-")
        methods = self._table.get(path)
        if methods is None:
            raise Refusal(404, "NOT_FOUND", f"no control {path!r}; GET {PREFIX} lists them")
        control = methods.get(method.upper())
        if control is None:
            raise Refusal(405, "METHOD_NOT_ALLOWED", f"{PREFIX}{path} takes {', '.join(sorted(methods))}")
        return control

    async def answer(self, method: str, path: str, query: Mapping[str, str], body: bytes) -> Answer:
        """Carry out one control request; refusals and bad arguments answer `{code, message}`."""
        try:
            control = self.find(method, path)
            arguments = control.arguments(_payload(body) if method.upper() != "GET" else None, query)
            try:
                result = control.run(**arguments)
                if inspect.isawaitable(result):
                    result = await result
            except ValueError as exc:
                raise Refusal(400, "PARAM_ERROR", f"{control.path}: {exc}") from None
        except Refusal as refusal:
            return error(refusal.status, refusal.code, refusal.message)
        return Answer(200, result)


def _payload(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Refusal(400, "PARAM_ERROR", "the control body is not valid JSON") from None


def _described(control: Control) -> dict[str, Any]:
    params = [
        {
            "name": spec.name,
            "kind": spec.kind,
            "required": spec.required,
            **({"enum": list(spec.enum)} if spec.enum else {}),
        }
        for spec in control.params
    ]
    return {"method": control.method, "path": control.path, "params": params, "doc": control.doc}
