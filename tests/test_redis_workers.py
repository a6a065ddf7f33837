"""Two worker processes sharing a real redis-server: each notification handled once, even with Redis down mid-run.

`python -m benchmarks.deployment` runs the same scenario at full size and prints the figures.
"""

from __future__ import annotations

from pathlib import Path

from redis_support import redis_executable

from benchmarks.deployment.workers import run_workers

NOTIFICATIONS = 60


def test_two_workers_handle_each_notification_once_through_a_redis_outage(tmp_path: Path) -> None:
    figures = run_workers(NOTIFICATIONS, 0.5, tmp_path, redis_executable=redis_executable())
    assert len(figures.notification_ids) == NOTIFICATIONS
    assert (figures.handled_twice, figures.lost) == (0, 0)
    assert sorted(figures.handled) == sorted(figures.notification_ids)
    while_down = figures.during_outage
    assert while_down, "no delivery fell within the outage"
    assert [d.status for d in while_down if d.status < 500] == []
    # A claim left in Redis by a delivery refused during the outage would hold its notification for
    # the whole lease (60 s: hundreds of redeliveries); released once Redis answers, it holds none.
    assert figures.most_deliveries_after_restart < 100
    assert figures.certificate_downloads == 1  # both workers started without it; one downloaded it
