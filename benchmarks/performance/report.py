"""The figures as text: Markdown tables with the method, the machine and each target's verdict.

Every figure is a median over paired rounds; every ratio the median of per-round ratios, with the
10th-90th percentile of those ratios beside it.
"""

from __future__ import annotations

from collections.abc import Iterator

from .config import (
    ARRANGEMENTS,
    ASYNC,
    CLIENT_CPU,
    CONCURRENCY,
    FLOOR,
    FRAMEWORKS,
    INCUMBENTS,
    MEMORY,
    METHODS,
    NOTIFICATION,
    ONE,
    OURS,
    TWO,
    WEBHOOK,
    WEBHOOK_CONCURRENCY,
    Settings,
    Target,
)
from .figures import Figures, cell
from .memory import trouble
from .stats import Rounds, Spread


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _head(*names: str, left: int = 1, right: int | None = None) -> list[str]:
    """A table's header: the first `left` columns and those after `right` aligned left, the others right."""
    right = len(names) if right is None else right
    align = ["---"] * left + ["---:"] * (right - left) + ["---"] * (len(names) - right)
    return [_row(*names), "|" + "|".join(align) + "|"]


def _ratio(spread: Spread, digits: int = 3) -> str:
    return f"{spread.median:.{digits}f} ({spread.range(digits)})"


def verdict(target: Target, ratio: float, base: float, unit: str) -> str:
    """`met`, or `not met` with the gap in the ratio and in the figure's own unit (`base` is the floor's value)."""
    if target.met(ratio):
        return "met"
    gap = ratio - target.limit
    return f"**not met**: {gap:+.3f} (≈ {gap * base:+,.0f} {unit})"


def _target_rows(figures: Figures) -> Iterator[tuple[str, str, Spread, Target, float, str]]:
    for method in METHODS:
        for c in CONCURRENCY:
            rounds = figures.cpu[cell(method, c)]
            where = f"{method}, concurrency {c}"
            yield (
                "client CPU per call ÷ floor",
                where,
                rounds.ratio(OURS, FLOOR),
                CLIENT_CPU,
                rounds.median(FLOOR),
                "µs/call",
            )
    n = figures.notifications
    yield (
        "notification parse ÷ floor",
        "verify + parse + decrypt",
        n.ratio(OURS, FLOOR),
        NOTIFICATION,
        n.median(FLOOR),
        "µs",
    )
    for framework in FRAMEWORKS:
        rate = figures.webhook_rate[framework]
        where = f"{framework}, {WEBHOOK_CONCURRENCY} in flight"
        yield (
            "webhook deliveries/s ÷ bare handler",
            where,
            rate.ratio("adapter", "bare"),
            WEBHOOK,
            rate.median("bare"),
            "/s",
        )
    for method in METHODS:
        memory = figures.memory[method]
        where = f"{method}, {figures.settings['in_flight']:,} in flight"
        yield (
            "memory per call in flight ÷ floor",
            where,
            memory.ratio(OURS, FLOOR),
            MEMORY,
            memory.median(FLOOR),
            "KiB/call",
        )


def targets(figures: Figures) -> list[str]:
    """Each target's ratio, spread and verdict."""
    lines = _head("target", "measured at", "ratio (median)", "p10–p90", "target", "verdict", left=2, right=5)
    for name, where, spread, target, base, unit in _target_rows(figures):
        lines.append(
            _row(
                name,
                where,
                f"{spread.median:.3f}",
                spread.range(3),
                str(target),
                verdict(target, spread.median, base, unit),
            )
        )
    return lines


def client_cpu(figures: Figures) -> list[str]:
    """Client CPU µs per call of every SDK; the server's CPU per call beside it."""
    lines = _head("call", FLOOR, OURS, "÷ floor (p10–p90)", *INCUMBENTS, "server µs/call")
    for method in METHODS:
        for c in CONCURRENCY:
            key = cell(method, c)
            cpu = figures.cpu[key]
            incumbents = [f"{cpu.median(s):,.0f}" for s in INCUMBENTS]
            server = figures.server[key].median(OURS)
            lines.append(
                _row(
                    f"{method}, concurrency {c}",
                    f"{cpu.median(FLOOR):,.0f}",
                    f"{cpu.median(OURS):,.0f}",
                    _ratio(cpu.ratio(OURS, FLOOR)),
                    *incumbents,
                    f"{server:,.0f}",
                )
            )
    return lines


def calls_per_second(figures: Figures) -> list[str]:
    """Calls per second of every SDK, and wechatpay_chain's against each form of the incumbent."""
    lines = _head("call", FLOOR, OURS, *INCUMBENTS, *(f"{OURS} ÷ {s.split()[-1]}" for s in INCUMBENTS))
    for method in METHODS:
        for c in CONCURRENCY:
            rate = figures.rate[cell(method, c)]
            rates = [f"{rate.median(s):,.0f}" for s in (FLOOR, OURS, *INCUMBENTS)]
            ratios = [_ratio(rate.ratio(OURS, s), 2) for s in INCUMBENTS]
            lines.append(_row(f"{method}, concurrency {c}", *rates, *ratios))
    return lines


def notifications(figures: Figures) -> list[str]:
    """CPU per notification parsed."""
    n = figures.notifications
    lines = _head("CPU µs per notification", FLOOR, OURS, "÷ floor (p10–p90)")
    lines.append(
        _row(
            "verify + parse + decrypt",
            f"{n.median(FLOOR):,.1f}",
            f"{n.median(OURS):,.1f}",
            _ratio(n.ratio(OURS, FLOOR)),
        )
    )
    return lines


def webhooks(figures: Figures) -> list[str]:
    """Deliveries per second and server CPU per delivery of each adapter against the bare handler."""
    lines = _head(
        "endpoint",
        "bare /s",
        "adapter /s",
        "÷ bare (p10–p90)",
        "bare µs/delivery",
        "adapter µs/delivery",
        "÷ bare (p10–p90)",
    )
    for framework in FRAMEWORKS:
        rate, cpu = figures.webhook_rate[framework], figures.webhook_cpu[framework]
        per_second = [f"{rate.median(h):,.0f}" for h in ("bare", "adapter")]
        per_delivery = [f"{cpu.median(h):,.0f}" for h in ("bare", "adapter")]
        adapter_rate, adapter_cpu = _ratio(rate.ratio("adapter", "bare")), _ratio(cpu.ratio("adapter", "bare"))
        lines.append(_row(framework, *per_second, adapter_rate, *per_delivery, adapter_cpu))
    return lines


def memory(figures: Figures) -> list[str]:
    """KiB per call in flight; the incumbent's single run beside them."""
    in_flight = figures.settings["in_flight"]
    lines = _head("KiB per call in flight", FLOOR, OURS, "÷ floor (p10–p90)", f"{ASYNC} (one run)")
    for method in METHODS:
        m = figures.memory[method]
        theirs = figures.memory_incumbent.get(method)
        problem = trouble(theirs, Settings(**figures.settings)) if theirs is not None else "not run"
        if problem:
            incumbent = problem
        else:
            assert theirs is not None
            incumbent = f"{(theirs['peak_kib'] - theirs['baseline_kib']) / in_flight:,.1f}"
        lines.append(
            _row(
                f"{method}, {in_flight:,} in flight",
                f"{m.median(FLOOR):,.1f}",
                f"{m.median(OURS):,.1f}",
                _ratio(m.ratio(OURS, FLOOR)),
                incumbent,
            )
        )
    return lines


def _two_summary(figures: Figures) -> str:
    """Where a second process won: the p10 of its per-round ratio above 1."""
    wins = [
        f"{method} {c} ({rate.ratio(TWO, ONE).median:.2f}×)"
        for method in METHODS
        for c in CONCURRENCY
        if TWO in (rate := figures.core_rate[cell(method, c)]).values and rate.ratio(TWO, ONE).p10 > 1
    ]
    where = ", ".join(wins) or "nowhere"
    return f"Two processes gave more calls/s than one (p10 of the per-round ratio above 1) at: {where}."


def cores(figures: Figures) -> list[str]:
    """Calls/s and CPU per call of one process and of two."""
    lines = _head(
        "calls in flight",
        *(f"{a} /s" for a in ARRANGEMENTS),
        "two ÷ one",
        *(f"{a} µs/call" for a in ARRANGEMENTS),
    )
    for method in METHODS:
        for c in CONCURRENCY:
            rate, cpu = figures.core_rate[cell(method, c)], figures.core_cpu[cell(method, c)]
            present = [a for a in ARRANGEMENTS if a in rate.values]

            def ratio(a: str, b: str, rate: Rounds = rate, present: list[str] = present) -> str:
                return _ratio(rate.ratio(a, b), 2) if a in present and b in present else "—"

            lines.append(
                _row(
                    f"{method}, {c}",
                    *(f"{rate.median(a):,.0f}" if a in present else "—" for a in ARRANGEMENTS),
                    ratio(TWO, ONE),
                    *(f"{cpu.median(a):,.0f}" if a in present else "—" for a in ARRANGEMENTS),
                )
            )
    return [*lines, "", _two_summary(figures)]


COST_ROWS = (
    ("chain, request building, stack, JSON of the answer (no middleware)", "none", ()),
    ("logging middleware", "logging", ("none",)),
    ("signer middleware (RSA stood in for)", "signer", ("logging",)),
    ("verifier middleware (RSA stood in for)", "verifier", ("signer",)),
    ("**wechatpay_chain**, all of the above", "verifier", ()),
    ("**floor**: the same work (RSA stood in for)", "floor", ()),
    ("**wechatpay_chain − floor**, without I/O", "verifier", ("floor",)),
    ("RSA-2048 signature (real)", "rsa sign", ()),
    ("RSA verification (real)", "rsa verify", ()),
    ("transport + aiohttp (unsigned, answered 401; 16 in flight)", "transport", ()),
    ("bare aiohttp, the same requests", "bare aiohttp", ()),
    ("**transport − bare aiohttp**", "transport", ("bare aiohttp",)),
)


def costs(figures: Figures) -> list[str]:
    """µs per call of each layer of the client, beside the floor's."""
    lines = _head("µs per call (median, p10–p90)", *METHODS)
    for label, name, less in COST_ROWS:
        spreads = [Spread.of(figures.costs[m].difference(name, *less)) for m in METHODS]
        lines.append(_row(label, *(f"{s.median:,.1f} ({s.range(1)})" for s in spreads)))
    return lines


def chain_costs(figures: Figures) -> list[str]:
    """ns per operation of the chain."""
    lines = _head("chain cost", "ns (median)", "p10–p90")
    for name in figures.micro.values:
        spread = figures.micro.spread(name)
        lines.append(_row(name, f"{spread.median:,.0f}", spread.range(0)))
    return lines


def _count(n: int, thing: str) -> str:
    return f"{n:,} {thing}" + ("" if n == 1 else "s")


def method(settings: Settings) -> list[str]:
    """How the figures were measured, with this run's sizes."""
    s = settings
    return [
        "- **Paired, interleaved rounds.** Every figure is the median over rounds of its per-round value; every "
        "ratio is the median of its per-round ratios (both sides from the same round, run back to back in a "
        "shuffled order; the two sides of a target's ratio side by side), with the 10th–90th percentile of those "
        "ratios as its spread. Never a best-of.",
        "- **Server.** A bare aiohttp.web app in its own process, as WeChat Pay: it RSA-verifies every request and "
        "RSA-signs every answer with a fresh nonce. Client CPU is `time.process_time()` of the client's process "
        "(all its threads), so the server's work never counts; the server's CPU per call is read from the server.",
        "- **Calls.** GET: query an order (`v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=…`). POST: create a "
        "Native order (`v3/pay/transactions/native`, a JSON body of about 300 bytes). Every SDK reads the verified "
        f"answer's JSON. {_count(s.rounds, 'round')}; in each, every SDK makes {s.calls:,} calls of each method at "
        "each concurrency (coroutines on one event loop; wechatpayv3's sync client from as many threads, kept "
        "for the whole run).",
        "- **Floor.** aiohttp (a default session) + orjson + cryptography, nothing else, doing per call all the "
        "protocol requires: a random nonce, the signing message, the RSA signature, the headers, the request, the "
        "answer's timestamp window and RSA verification over the received bytes, `orjson.loads` of the answer "
        "(and `orjson.dumps` of a POST's body).",
        "- **Incumbent.** wechatpayv3 in public-key mode: its sync client as shipped (a new TCP connection per call), "
        f"the same with a `requests.Session` pooling {max(CONCURRENCY)} connections (its fair best), and its "
        "asyncio client (httpx, its defaults).",
        f"- **Notifications.** `NotificationParser.parse` against the floor (the same checks, `orjson`, AES-GCM with "
        f"the key object made once) on {s.notifications:,} signed notifications per round (200 distinct), headers "
        f"as aiohttp.web hands them over; CPU time, {_count(s.notification_rounds, 'round')}.",
        f"- **Webhook endpoints.** `handler_for` (aiohttp.web) and `asgi_app` (under uvicorn) against a bare "
        f"handler of the same framework doing the floor's cryptography, in a server process; this process POSTs "
        f"{s.deliveries:,} never-seen notifications per handler and round, {WEBHOOK_CONCURRENCY} in flight, "
        f"{_count(s.webhook_rounds, 'round')}.",
        f"- **Memory.** {s.in_flight:,} calls started at once with `asyncio.gather` in a fresh process per run, on "
        "100 connections, every SDK with the same bounds (10 minutes, connecting included); a call's share is "
        "(peak RSS − RSS before) / calls; "
        f"{_count(s.memory_rounds, 'round')} of floor and wechatpay_chain, one run of wechatpayv3 async.",
        "- **Beyond one core.** One client process against two, each with its own client and half the calls in "
        "flight. Calls/s over the wall time of both; CPU "
        f"per call over every client process; {s.core_calls:,} calls per sample, "
        f"{_count(s.core_rounds, 'round')}.",
        "- **Layer by layer.** The same call through clients whose stack ends in a middleware handing back a real "
        "signed answer (no I/O), the default middlewares added one at a time; a layer's cost is the per-round "
        "difference with and without it. There, and in the floor beside them, the RSA primitives are stood in for "
        "(base64 of a 256-byte signature, no RSA), which would otherwise drown the layers in their own variation; "
        "they are timed alone. The transport against bare aiohttp on the same requests, unsigned (the server "
        f"answers 401 at once). {s.cost_calls:,} calls per layer, {_count(s.cost_rounds, 'round')}.",
    ]


def report(figures: Figures, load_at_end: str) -> str:
    """The whole report, Markdown."""
    machine = [f"- {name}: {value}" for name, value in figures.machine.items()]
    machine.append(f"- load average at end (1, 5, 15 min): {load_at_end}")
    sections = [
        (f"Machine and versions ({figures.mode} run)", machine),
        ("Method", method(Settings(**figures.settings))),
        ("Targets", targets(figures)),
        ("Client CPU per signed and verified call (µs)", client_cpu(figures)),
        ("Calls per second, and wechatpay_chain against the incumbent", calls_per_second(figures)),
        ("Notifications", notifications(figures)),
        (f"Webhook endpoints, {WEBHOOK_CONCURRENCY} deliveries in flight", webhooks(figures)),
        ("Memory per call in flight", memory(figures)),
        ("Where wechatpay_chain's CPU goes, layer by layer", costs(figures)),
        ("Beyond one core", cores(figures)),
        ("Chain costs", chain_costs(figures)),
    ]
    if figures.notes:
        sections.append(("Notes", [f"- {note}" for note in figures.notes]))
    return "\n\n".join(f"### {title}\n\n" + "\n".join(lines) for title, lines in sections)
