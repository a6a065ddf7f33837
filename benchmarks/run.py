"""Benchmarks: overhead over the cryptographic floor, throughput, the incumbent SDK, chain cost, memory.

    python benchmarks/run.py            # default run, under 2 minutes
    python benchmarks/run.py --quick    # smoke run for CI, under 30 s
    python benchmarks/run.py --full     # the figures of the README

Needs the `bench` extra (`pip install -e '.[bench]'`). The server (the Emulator, see _server.py)
runs in a process of its own, so `time.process_time()` here measures the client's CPU alone
(plus, for the client signing in worker processes, the CPU of those workers: see children_cpu).
Every client makes the same call: GET v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=…
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import wechatpayv3  # type: ignore[import-untyped]
from wechatpayv3.async_ import AsyncWeChatPay  # type: ignore[import-untyped]
from yarl import URL

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from wechatpay_chain import Client, _hazmat, authorization, signing_message, verification_message
from wechatpay_chain._chain import Chain
from wechatpay_chain._config import user_agent
from wechatpay_chain._signing_pool import _usable_cpus
from wechatpay_chain._template import parse
from wechatpay_chain.testing import Credentials
from wechatpay_chain.testing._credentials import private_pem, public_pem

CONCURRENCY = (1, 16, 64)
POOL = "wechatpay_chain pool"  # signing in worker processes: Client(..., signing_workers=n)
SDKS = ("floor", "wechatpay_chain", POOL, "wechatpayv3 threads", "wechatpayv3 async")
DEFAULT_PLOT = Path(__file__).with_name("performance.png")


@dataclass(frozen=True)
class Settings:
    """How much to measure: calls per sample, samples per figure, size of the memory test."""

    calls: int
    repeats: int
    in_flight: int
    micro: int
    deadline: float  # seconds the memory test may take per SDK before it is called off


MODES = {
    "quick": Settings(calls=150, repeats=1, in_flight=1_000, micro=100_000, deadline=10),
    "default": Settings(calls=500, repeats=3, in_flight=10_000, micro=300_000, deadline=20),
    "full": Settings(calls=2_000, repeats=5, in_flight=10_000, micro=1_000_000, deadline=60),
}


def order_no(i: int) -> str:
    """The out_trade_no of call `i` (each call asks for another order)."""
    return f"BENCH{i:012d}"


# -- the server -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """The benchmark server process."""

    base_url: str
    pid: int

    def cpu(self) -> float:
        """CPU seconds the server process has used so far (0 where /proc is missing)."""
        stat = Path(f"/proc/{self.pid}/stat")
        if not stat.exists():
            return 0.0
        fields = stat.read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def children_cpu(exclude: int) -> float:
    """CPU seconds used so far by this process's live child processes, except `exclude` (the server).

    The signing pool's workers are children of this process (started with "spawn"), so their
    CPU is the client's too. They are alive while measured, and getrusage(RUSAGE_CHILDREN) only
    counts children that have exited and been waited for, so their /proc/<pid>/stat is read instead
    (utime + stime, in 10 ms ticks). 0 where /proc is missing.
    """
    me, total = str(os.getpid()), 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rpartition(")")[2].split()
            if fields[1] == me and int(stat.parent.name) != exclude:  # fields[1] is the parent pid
                total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK") if total else 0.0


@contextlib.contextmanager
def server(keys_dir: Path) -> Iterator[Server]:
    """Start _server.py in its own process."""
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("_server.py")), str(keys_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("port "):
            raise RuntimeError(f"the benchmark server did not start (said {line!r})")
        yield Server(f"http://127.0.0.1:{int(line.split()[1])}/", proc.pid)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()  # the server stops when its stdin closes
        proc.wait(timeout=10)


# -- the clients ------------------------------------------------------------------------------

Call = Callable[[int], Awaitable[object]]


@dataclass
class Sample:
    """One timed batch: wall time, client CPU time (own, child processes') and server CPU time for `calls` calls."""

    calls: int
    wall: float
    cpu: float
    server_cpu: float = 0.0
    children_cpu: float = 0.0


async def drive(call: Call, calls: int, concurrency: int) -> Sample:
    """Make `calls` calls, `concurrency` at a time; time them."""
    counter = itertools.count()

    async def worker() -> None:
        while (i := next(counter)) < calls:
            await call(i)

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Sample(calls, time.perf_counter() - wall, time.process_time() - cpu)


def drive_threads(call: Callable[[int], object], calls: int, concurrency: int) -> Sample:
    """Make `calls` calls from `concurrency` threads; time them."""
    counter = itertools.count()

    def worker() -> None:
        while (i := next(counter)) < calls:
            call(i)

    with ThreadPoolExecutor(concurrency) as pool:
        wall, cpu = time.perf_counter(), time.process_time()
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
        return Sample(calls, time.perf_counter() - wall, time.process_time() - cpu)


def chain_client(creds: Credentials, base_url: str, **options: Any) -> Client:
    """A wechatpay_chain client with its default stack, pointed at the benchmark server."""
    return Client(
        creds.mchid,
        creds.serial,
        creds.merchant_key,
        {creds.public_key_id: creds.public_key.public_key()},
        apiv3_key=creds.apiv3_key,
        base_url=base_url,
        **options,
    )


def chain_call(client: Client) -> Call:
    """One order query through the chain, written as a user writes it; the verified answer, unparsed."""
    query = {"mchid": client.mchid}

    async def call(i: int) -> object:
        return await client.v3.pay.transactions.outTradeNo._out_trade_no_.get(out_trade_no=order_no(i), query=query)

    return call


class Floor:
    """The same call with nothing but aiohttp and the RSA sign and verify it cannot avoid.

    The URLs, signing messages and nonces are made before the clock starts; the response
    message verified is a real one, taken from the server beforehand.
    """

    def __init__(self, creds: Credentials, base_url: str, session: aiohttp.ClientSession) -> None:
        self._creds = creds
        self._base = base_url.rstrip("/")
        self._session = session
        self._key = creds.merchant_key
        self._public = creds.public_key.public_key()
        self._headers = {
            "Accept": "application/json",
            "User-Agent": user_agent(),
            "Wechatpay-Serial": creds.public_key_id,
        }
        self._prepared: list[tuple[URL, bytes, str, str]] = []
        self._answer: tuple[bytes, str] = (b"", "")

    async def prepare(self, calls: int) -> None:
        """Precompute what the floor does not count, and fetch one signed answer to verify."""
        timestamp = str(int(time.time()))
        self._prepared = []
        for i in range(calls):
            target = f"/v3/pay/transactions/out-trade-no/{order_no(i)}?mchid={self._creds.mchid}"
            nonce = _hazmat.nonce()
            message = signing_message("GET", target, timestamp, nonce, b"")
            self._prepared.append((URL(self._base + target, encoded=True), message, timestamp, nonce))
        async with self._session.get(self._prepared[0][0], headers=self._headers_for(0)) as answer:
            body = await answer.read()
            h = answer.headers
            message = verification_message(h["Wechatpay-Timestamp"], h["Wechatpay-Nonce"], body)
            self._answer = (message, h["Wechatpay-Signature"])

    def _headers_for(self, i: int) -> dict[str, str]:
        _, message, timestamp, nonce = self._prepared[i]
        signature = _hazmat.rsa_sign(self._key, message)
        auth = authorization(self._creds.mchid, self._creds.serial, timestamp, nonce, signature)
        return {**self._headers, "Authorization": auth}

    async def __call__(self, i: int) -> object:
        async with self._session.get(self._prepared[i][0], headers=self._headers_for(i)) as answer:
            body = await answer.read()
        if answer.status != 200 or not _hazmat.rsa_verify(self._public, *self._answer):
            raise RuntimeError(f"floor call failed: {answer.status} {body[:200]!r}")
        return body


def incumbent_settings(creds: Credentials) -> dict[str, Any]:
    """wechatpayv3's constructor arguments for the same merchant, in public-key mode."""

    return {
        "wechatpay_type": wechatpayv3.WeChatPayType.NATIVE,
        "mchid": creds.mchid,
        "private_key": private_pem(creds.merchant_key).decode(),
        "cert_serial_no": creds.serial,
        "appid": "wxd678efh567hg6787",
        "apiv3_key": creds.apiv3_key,
        "public_key": public_pem(creds.public_key).decode(),
        "public_key_id": creds.public_key_id,
    }


def point_incumbent(sdk: Any, base_url: str) -> None:
    """wechatpayv3 has no base URL setting: its gateway is a private attribute."""
    sdk._core._gate_way = base_url.rstrip("/")


def incumbent_result(code: int, text: str) -> object:
    """wechatpayv3 answers (status, text), verified; like the other clients, leave parsing to the caller."""
    if code != 200:
        raise RuntimeError(f"wechatpayv3 call failed: {code} {text[:200]}")
    return text


# -- throughput and CPU -----------------------------------------------------------------------


@dataclass
class Figures:
    """Everything one run measured."""

    mode: str
    machine: dict[str, str]
    samples: dict[str, dict[int, list[Sample]]] = field(default_factory=dict)
    micro: dict[str, float] = field(default_factory=dict)
    memory: dict[str, dict[str, float]] = field(default_factory=dict)

    # Best of the repeats: a busy machine only ever adds time, so the best sample is the closest
    # to what the code costs, and it is taken the same way for every SDK.

    def cpu_us(self, sdk: str, c: int) -> float:
        """Least client CPU per call over the repeats (this process and its workers), µs."""
        return min((s.cpu + s.children_cpu) / s.calls for s in self.samples[sdk][c]) * 1e6

    def children_us(self, sdk: str, c: int) -> float:
        """The worker processes' share of the sample `cpu_us` picks, µs per call."""
        best = min(self.samples[sdk][c], key=lambda s: (s.cpu + s.children_cpu) / s.calls)
        return best.children_cpu / best.calls * 1e6

    def rate(self, sdk: str, c: int) -> float:
        """Most calls per second over the repeats."""
        return max(s.calls / s.wall for s in self.samples[sdk][c])

    def server_us(self, sdk: str, c: int) -> float:
        """Median server CPU per call while serving `sdk`, µs (/proc counts in 10 ms ticks: a rough figure)."""
        return statistics.median(s.server_cpu / s.calls for s in self.samples[sdk][c]) * 1e6


async def measure_calls(figures: Figures, creds: Credentials, srv: Server, settings: Settings) -> None:
    """Every SDK at every concurrency, interleaved so that drifts of the machine hit all alike."""
    base_url = srv.base_url
    sync_sdk = wechatpayv3.WeChatPay(**incumbent_settings(creds))
    point_incumbent(sync_sdk, base_url)
    async with (
        aiohttp.ClientSession() as session,
        chain_client(creds, base_url) as client,
        chain_client(creds, base_url, signing_workers=_usable_cpus()) as pooled,
        AsyncWeChatPay(**incumbent_settings(creds)) as async_sdk,
    ):
        point_incumbent(async_sdk, base_url)
        floor = Floor(creds, base_url, session)
        ours = chain_call(client)
        ours_pooled = chain_call(pooled)

        async def theirs(i: int) -> object:
            return incumbent_result(*await async_sdk.query(out_trade_no=order_no(i)))

        def theirs_sync(i: int) -> object:
            return incumbent_result(*sync_sdk.query(out_trade_no=order_no(i)))

        async def threads(calls: int, concurrency: int) -> Sample:
            return drive_threads(theirs_sync, calls, concurrency)

        runners: dict[str, Callable[[int, int], Awaitable[Sample]]] = {
            "floor": lambda calls, concurrency: drive(floor, calls, concurrency),
            "wechatpay_chain": lambda calls, concurrency: drive(ours, calls, concurrency),
            POOL: lambda calls, concurrency: drive(ours_pooled, calls, concurrency),
            "wechatpayv3 threads": threads,
            "wechatpayv3 async": lambda calls, concurrency: drive(theirs, calls, concurrency),
        }
        for sdk in SDKS:
            figures.samples[sdk] = {c: [] for c in CONCURRENCY}
        for r in range(settings.repeats):
            for c in CONCURRENCY:
                await floor.prepare(settings.calls)
                for sdk, run_sdk in runners.items():
                    await run_sdk(max(c, 20), c)  # warm up: connections open, caches filled, workers started
                    before, children_before = srv.cpu(), children_cpu(srv.pid)
                    sample = await run_sdk(settings.calls, c)
                    sample.server_cpu = srv.cpu() - before
                    sample.children_cpu = children_cpu(srv.pid) - children_before
                    figures.samples[sdk][c].append(sample)
                latest = {s: figures.samples[s][c][-1] for s in SDKS}
                rates = ", ".join(f"{s} {x.calls / x.wall:,.0f}/s" for s, x in latest.items())
                print(f"  run {r + 1}/{settings.repeats}, concurrency {c:>2}: {rates}", flush=True)


# -- chain cost -------------------------------------------------------------------------------


def per_op_ns(stmt: Callable[[], object], number: int) -> float:
    """Best of 5 runs, ns per call of `stmt`."""
    return min(timeit.repeat(stmt, number=number, repeat=5)) / number * 1e9


def measure_chain(figures: Figures, creds: Credentials, base_url: str, settings: Settings) -> None:
    """ns per attribute hop (cached, uncached), per template expansion, per whole request build."""
    client = chain_client(creds, base_url)
    n = settings.micro
    node = client.v3.pay.transactions
    node.outTradeNo  # noqa: B018 (cache the child)
    figures.micro["cached hop (node.child)"] = per_op_ns(lambda: node.outTradeNo, n)
    figures.micro["cached hop from the client (client.v3)"] = per_op_ns(lambda: client.v3, n)
    figures.micro["cached 5-hop path, per hop"] = (
        per_op_ns(lambda: client.v3.pay.transactions.outTradeNo._out_trade_no_, n) / 5
    )
    rounds = []  # a hop is uncached once per parent, so each round hops from fresh parents
    for _ in range(5):
        parents = [Chain(client, "v3/pay/transactions") for _ in range(n // 5)]
        hop = iter(parents).__next__
        start = time.perf_counter()
        for _ in range(len(parents)):
            hop().outTradeNo  # noqa: B018
        rounds.append((time.perf_counter() - start) / len(parents) * 1e9)
    figures.micro["uncached hop (new child node)"] = min(rounds)
    template = parse("v3/pay/transactions/out-trade-no/{out_trade_no}")
    values = {"out_trade_no": "1217752501201407033233368018"}
    figures.micro["template expansion (one placeholder)"] = per_op_ns(lambda: template.expand(values), n)
    options = {"json": None, "query": {"mchid": creds.mchid}, "body": None, "headers": None}
    figures.micro["build_request (template, query, headers)"] = per_op_ns(
        lambda: client.build_request("GET", template.source, values, options), n // 10
    )


# -- memory -----------------------------------------------------------------------------------


def _status_kib(field: str) -> int | None:
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def rss_now_kib() -> int:
    """Resident set size of this process now, KiB, and restart the peak count from here (Linux)."""
    now = _status_kib("VmRSS")
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM, the peak RSS
    return now if now is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def rss_peak_kib() -> int:
    """Peak resident set size since `rss_now_kib()` (or since start where it cannot be reset), KiB."""
    peak = _status_kib("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def memory_child(sdk: str, keys_dir: Path, base_url: str, in_flight: int, deadline: float) -> None:
    """In a fresh process: print the peak RSS while `in_flight` calls are under way at once (or at `deadline`)."""
    creds = Credentials.load(keys_dir)
    if sdk == "wechatpay_chain":
        # The last of 10,000 calls queued on 100 connections waits long for its connection, beyond
        # the default 5 s connect bound (which covers the wait for a pooled connection too).
        client = chain_client(creds, base_url, timeout=aiohttp.ClientTimeout(total=600))
        call = chain_call(client)
        closer: Callable[[], Awaitable[object]] = client.close
    else:
        sdk_obj = AsyncWeChatPay(**incumbent_settings(creds), timeout=600)
        await sdk_obj.__aenter__()
        point_incumbent(sdk_obj, base_url)

        async def call(i: int) -> object:
            return incumbent_result(*await sdk_obj.query(out_trade_no=order_no(i)))

        async def closer() -> object:
            return await sdk_obj.__aexit__(None, None, None)

    await call(0)
    baseline = rss_now_kib()
    start = time.perf_counter()

    def report(finished: bool) -> None:
        figures = {"baseline_mib": baseline / 1024, "peak_mib": rss_peak_kib() / 1024, "finished": float(finished)}
        print(json.dumps({**figures, "seconds": time.perf_counter() - start}), flush=True)

    def give_up() -> None:
        # From a thread: an SDK whose event loop is stuck in one long step never sees an asyncio timeout.
        report(False)
        os._exit(0)

    watchdog = threading.Timer(deadline, give_up)
    watchdog.start()
    await asyncio.gather(*(call(i) for i in range(in_flight)))
    watchdog.cancel()
    report(True)
    await closer()


def measure_memory(figures: Figures, keys_dir: Path, base_url: str, settings: Settings) -> None:
    """Run the memory test of each async SDK in a fresh process, so earlier tests leave no trace."""
    for sdk in ("wechatpay_chain", "wechatpayv3 async"):
        child = ["--memory-child", sdk, str(keys_dir), base_url, str(settings.in_flight), str(settings.deadline)]
        out = subprocess.run(
            [sys.executable, __file__, *child],
            capture_output=True,
            text=True,
            check=True,
        )
        figures.memory[sdk] = json.loads(out.stdout.strip().splitlines()[-1])


# -- report -----------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    import cryptography
    from cryptography.hazmat.backends.openssl.backend import backend as openssl_backend

    return {
        "cpu": model,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "cryptography": f"{cryptography.__version__} ({openssl_backend.openssl_version_text()})",
        "wechatpayv3": wechatpayv3.__version__,
        "pool workers": str(_usable_cpus()),
    }


def table(figures: Figures) -> str:
    """The figures as Markdown tables."""
    incumbents = ("wechatpayv3 threads", "wechatpayv3 async")
    lines = [
        "| calls/s | " + " | ".join(SDKS) + " | × threads | × async | pool × threads | pool × async |",
        "|---|" + "---:|" * (len(SDKS) + 4),
    ]
    for c in CONCURRENCY:
        rates = {s: figures.rate(s, c) for s in SDKS}
        ratios = [rates[ours] / rates[them] for ours in ("wechatpay_chain", POOL) for them in incumbents]
        lines.append(
            f"| concurrency {c} | "
            + " | ".join(f"{r:,.0f}" for r in rates.values())
            + " | "
            + " | ".join(f"{x:.2f}" for x in ratios)
            + " |"
        )
    lines += [
        "",
        "| client CPU µs/call | " + " | ".join(SDKS) + " | overhead ratio | server (emulator) |",
        "|---|" + "---:|" * (len(SDKS) + 2),
    ]
    for c in CONCURRENCY:
        cpu = {s: f"{figures.cpu_us(s, c):,.0f}" for s in SDKS}
        pooled = figures.cpu_us(POOL, c)
        workers = figures.children_us(POOL, c)
        cpu[POOL] = f"{pooled:,.0f} ({pooled - workers:,.0f} + {workers:,.0f} workers)"
        ratio = figures.cpu_us("wechatpay_chain", c) / figures.cpu_us("floor", c)
        lines.append(
            f"| concurrency {c} | "
            + " | ".join(cpu.values())
            + f" | {ratio:.3f} | {figures.server_us('wechatpay_chain', c):,.0f} |"
        )
    lines += ["", "| chain cost | ns |", "|---|---:|"]
    lines += [f"| {name} | {ns:,.0f} |" for name, ns in figures.micro.items()]
    if figures.memory:
        lines += [
            "",
            "| memory | calls in flight | RSS before MiB | peak RSS MiB | seconds |",
            "|---|---:|---:|---:|---:|",
        ]
        for sdk, m in figures.memory.items():
            lines.append(
                f"| {sdk} | {m['in_flight']:,.0f} | {m['baseline_mib']:.0f} | {m['peak_mib']:.0f} | "
                + (f"{m['seconds']:.1f} |" if m["finished"] else f"did not finish in {m['seconds']:.0f} |")
            )
    return "\n".join(lines)


def plot(figures: Figures, path: Path) -> None:
    """Calls/s and CPU per call of each SDK at each concurrency, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=100)
    width = 0.16
    colours = ("#9e9e9e", "#1b9e77", "#66c2a5", "#d95f02", "#7570b3")
    labels = {
        "floor": "floor (bare aiohttp + RSA sign/verify)",
        POOL: f"wechatpay_chain, signing in {figures.machine['pool workers']} processes",
    }
    for k, (sdk, colour) in enumerate(zip(SDKS, colours, strict=True)):
        xs = [i + (k - (len(SDKS) - 1) / 2) * width for i in range(len(CONCURRENCY))]
        label = labels.get(sdk, sdk)
        left.bar(xs, [figures.rate(sdk, c) for c in CONCURRENCY], width, label=label, color=colour)
        right.bar(xs, [figures.cpu_us(sdk, c) for c in CONCURRENCY], width, label=label, color=colour)
    for i, c in enumerate(CONCURRENCY):  # how many times the incumbent's calls/s, above the group
        lines = []
        for ours, name in (("wechatpay_chain", "chain"), (POOL, "pool")):
            threads, async_ = (figures.rate(ours, c) / figures.rate(them, c) for them in SDKS[3:])
            lines.append(f"{name} ×{threads:.1f} thr, ×{async_:.1f} async")
        top = max(figures.rate(sdk, c) for sdk in SDKS)
        left.annotate("\n".join(lines), (i, top), ha="center", va="bottom", fontsize=7)
    for ax, title in (
        (left, "calls/s (higher is better)"),
        (right, "client CPU µs per call, signing workers included (lower is better)"),
    ):
        ax.set_xticks(range(len(CONCURRENCY)), [f"concurrency {c}" for c in CONCURRENCY])
        ax.set_title(title, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    left.set_ylim(top=left.get_ylim()[1] * 1.15)  # room for the annotations
    handles, names = left.get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(
        f"order query against the emulator, {figures.machine['cores']} cores ({figures.machine['cpu']})", fontsize=10
    )
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.savefig(path)
    plt.close(fig)


# -- main -------------------------------------------------------------------------------------


async def run(mode: str, plot_path: Path | None, json_path: Path | None) -> Figures:
    """The whole benchmark."""
    settings = MODES[mode]
    figures = Figures(mode, machine())
    with tempfile.TemporaryDirectory() as tmp, server(Path(tmp)) as srv:
        base_url = srv.base_url
        creds = Credentials.load(Path(tmp))
        print(f"{mode} run: {settings.calls} calls × {settings.repeats} per figure, server at {base_url}", flush=True)
        await measure_calls(figures, creds, srv, settings)
        measure_chain(figures, creds, base_url, settings)
        measure_memory(figures, Path(tmp), base_url, settings)
        for m in figures.memory.values():
            m["in_flight"] = settings.in_flight
    print()
    print(table(figures))
    print()
    for key, value in figures.machine.items():
        print(f"{key}: {value}")
    if plot_path is not None:
        plot(figures, plot_path)
        print(f"plot: {plot_path}")
    if json_path is not None:
        json_path.write_text(json.dumps(asdict(figures), indent=1, default=str))
        print(f"figures: {json_path}")
    return figures


def main() -> None:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_const", const="quick", dest="mode", help="CI smoke run (< 30 s)")
    size.add_argument("--full", action="store_const", const="full", dest="mode", help="the README figures")
    parser.add_argument("--plot", type=Path, help=f"PNG to write (default {DEFAULT_PLOT.name}; none for --quick)")
    parser.add_argument("--json", type=Path, help="also write the raw figures as JSON")
    parser.add_argument("--memory-child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        sdk, keys_dir, base_url, in_flight, deadline = args.memory_child
        asyncio.run(memory_child(sdk, Path(keys_dir), base_url, int(in_flight), float(deadline)))
        return
    mode = args.mode or "default"
    plot_path = args.plot or (None if mode == "quick" else DEFAULT_PLOT)
    asyncio.run(run(mode, plot_path, args.json))


if __name__ == "__main__":
    main()
