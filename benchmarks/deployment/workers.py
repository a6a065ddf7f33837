"""Two worker processes sharing Redis: each notification handled once, one certificate download, Redis stopped mid-run.

Each notification is delivered to both workers at once (as a retry racing the first delivery
through a load balancer does), and again after a pause until one worker acknowledges it, as
WeChat Pay redelivers what was not acknowledged. Once the first third is acknowledged,
redis-server is stopped (SIGTERM) for `outage` seconds and started again on the same data: the
second third is in delivery as it stops, the last third is first delivered while it is down. The
workers start with no platform certificate: the first notifications make them download it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from wechatpay_chain.testing import Credentials, EmulatorThread
from wechatpay_chain.testing._credentials import private_pem

from .redis_server import RedisServer

SENDERS = 16  # notifications in delivery at once
REDELIVER_AFTER = 0.05  # seconds before a notification nobody acknowledged is delivered again
GIVE_UP_AFTER = 120.0  # seconds after which a notification nobody acknowledged fails the run
HANDLER_SECONDS = 0.02


@dataclass
class Delivery:
    """One POST of a notification to one worker."""

    notification: int
    started: float
    ended: float
    status: int


@dataclass
class WorkerFigures:
    """What the run measured."""

    notifications: int
    outage: float
    deliveries: list[Delivery] = field(default_factory=list)
    handled: Counter[str] = field(default_factory=Counter)
    notification_ids: list[str] = field(default_factory=list)
    certificate_downloads: int = 0
    stopped_at: float = 0.0
    restarted_at: float = 0.0
    seconds: float = 0.0

    @property
    def during_outage(self) -> list[Delivery]:
        """Deliveries sent and answered while redis-server was down."""
        return [d for d in self.deliveries if self.stopped_at < d.started and d.ended < self.restarted_at]

    @property
    def most_deliveries_after_restart(self) -> int:
        """The most deliveries one notification needed once redis-server was back (a claim left stuck shows here)."""
        after = Counter(d.notification for d in self.deliveries if d.started > self.restarted_at)
        return max(after.values(), default=0)

    @property
    def handled_twice(self) -> int:
        """Notifications whose handler ran more than once (must be 0)."""
        return sum(1 for count in self.handled.values() if count > 1)

    @property
    def lost(self) -> int:
        """Notifications never handled (must be 0)."""
        return sum(1 for i in self.notification_ids if self.handled[i] == 0)

    def rows(self) -> list[tuple[str, object]]:
        """The table to print."""
        statuses = Counter(d.status for d in self.deliveries)
        outage = self.during_outage
        return [
            ("notifications", self.notifications),
            ("deliveries (each sent to both workers)", f"{len(self.deliveries)}: {dict(sorted(statuses.items()))}"),
            ("redis-server down", f"{self.restarted_at - self.stopped_at:.1f} s"),
            ("deliveries while down, answered 5xx", f"{sum(d.status >= 500 for d in outage)} of {len(outage)}"),
            ("most deliveries of one notification once Redis was back", self.most_deliveries_after_restart),
            ("handled once", sum(1 for count in self.handled.values() if count == 1)),
            ("handled twice or more", self.handled_twice),
            ("lost", self.lost),
            ("v3/certificates downloads (2 workers)", self.certificate_downloads),
            ("run time", f"{self.seconds:.1f} s"),
        ]


def _post(url: str, headers: dict[str, str], body: bytes) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0  # no answer at all: WeChat Pay delivers again


def _start_worker(config: dict[str, object]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.deployment.worker", json.dumps(config)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        raise RuntimeError("a worker process exited before it listened")
    return process, f"http://127.0.0.1:{json.loads(line)['port']}/"


def run_workers(
    notifications: int, outage: float, directory: Path, *, redis_executable: str | None = None
) -> WorkerFigures:
    """Run the scenario; `directory` holds Redis's data, the key file and the workers' logs."""
    credentials = Credentials.generate()
    directory.mkdir(parents=True, exist_ok=True)
    key_file = directory / "apiclient_key.pem"
    key_file.write_bytes(private_pem(credentials.merchant_key))
    handled_file = directory / "handled.txt"
    figures = WorkerFigures(notifications, outage)
    lock = threading.Lock()
    started = time.monotonic()
    with (
        RedisServer(directory / "redis", executable=redis_executable) as redis,
        EmulatorThread(credentials=credentials, key_mode="certificate") as emu,  # the workers download the certificates
    ):
        config = {
            "mchid": credentials.mchid,
            "serial": credentials.serial,
            "key_file": str(key_file),
            "apiv3_key": credentials.apiv3_key,
            "base_url": emu.base_url,
            "redis_url": redis.url,
            "handled_file": str(handled_file),
            "log_file": str(directory / "workers.log"),
            "handler_seconds": HANDLER_SECONDS,
            "record_wait": max(5.0, outage * 2),
        }
        workers = [_start_worker(config) for _ in range(2)]
        try:
            signed = [
                credentials.notification("TRANSACTION.SUCCESS", {"out_trade_no": f"T{n}"}, public_key=False)
                for n in range(notifications)
            ]
            figures.notification_ids = [json.loads(body)["id"] for _, body in signed]
            acknowledged = 0
            third = max(1, notifications // 3)
            first_third_done, down = threading.Event(), threading.Event()

            def deliver(index: int) -> None:
                nonlocal acknowledged
                if index >= third:  # the second third goes out as Redis stops, the last while it is down
                    (first_third_done if index < 2 * third else down).wait()
                headers, body = signed[index]
                deadline = time.monotonic() + GIVE_UP_AFTER
                while True:
                    with ThreadPoolExecutor(2) as both:  # to both workers at once
                        results = list(both.map(lambda url: _timed(index, url, headers, body), [u for _, u in workers]))
                    with lock:
                        figures.deliveries.extend(results)
                    if any(200 <= d.status < 300 for d in results):
                        with lock:
                            acknowledged += 1
                            if acknowledged >= third:
                                first_third_done.set()
                        return
                    if time.monotonic() > deadline:  # a broken setup must fail the run, never hang it
                        down.set()
                        first_third_done.set()
                        raise RuntimeError(
                            f"notification {index} was never acknowledged: see {directory / 'workers.log'}"
                        )
                    time.sleep(REDELIVER_AFTER)

            def outage_when_due() -> None:
                first_third_done.wait()
                redis.stop()
                figures.stopped_at = time.monotonic()  # from here until the restart begins, nothing answers
                down.set()
                time.sleep(outage)
                figures.restarted_at = time.monotonic()
                redis.start()

            breaker = threading.Thread(target=outage_when_due)
            breaker.start()
            with ThreadPoolExecutor(SENDERS) as senders:
                list(senders.map(deliver, range(notifications)))
            breaker.join()
            figures.certificate_downloads = emu.call(
                lambda: sum(1 for r in emu.emulator.received if r.target == "/v3/certificates")
            )
        finally:
            for process, _ in workers:
                process.terminate()
                process.wait(10)
    figures.handled = Counter(handled_file.read_text().split()) if handled_file.exists() else Counter()
    figures.seconds = time.monotonic() - started
    return figures


def _timed(notification: int, url: str, headers: dict[str, str], body: bytes) -> Delivery:
    began = time.monotonic()
    status = _post(url, headers, body)
    return Delivery(notification, began, time.monotonic(), status)
