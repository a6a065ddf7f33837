"""One web worker process, as gunicorn would run it: the sync client and a WSGI notification app sharing Redis.

    python -m benchmarks.deployment.worker '{"base_url": …, "redis_url": …, …}'

Prints `{"port": …}` once it listens on 127.0.0.1, then serves until terminated. Each notification
it handles is appended to `handled_file` (one id a line), after `handler_seconds` of "work"; the
package's log goes to `log_file`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from wechatpay_chain import Notification, RedisCertificateCache, RedisSeenIds
from wechatpay_chain.sync import Client, wsgi_app


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128  # the listen backlog: bursts of deliveries must not be refused


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log."""


def main(config: dict[str, Any]) -> None:
    """Serve notifications until terminated."""
    logging.basicConfig(
        filename=config["log_file"], level=logging.INFO, format=f"%(asctime)s {os.getpid()} %(levelname)s %(message)s"
    )
    client = Client(
        config["mchid"],
        config["serial"],
        f"file://{config['key_file']}",
        None,  # no certificate configured: downloaded with the APIv3 key, shared through Redis
        apiv3_key=config["apiv3_key"],
        base_url=config["base_url"],
        certificate_cache=RedisCertificateCache(config["redis_url"]),
    )
    handled = os.open(config["handled_file"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    def on_event(notification: Notification) -> None:
        time.sleep(config["handler_seconds"])  # the business work: a database write, say
        os.write(handled, f"{notification.id}\n".encode())

    seen_ids = RedisSeenIds(config["redis_url"], record_wait=config["record_wait"])
    server = make_server("127.0.0.1", 0, wsgi_app(client, on_event, seen_ids=seen_ids), _Server, _Quiet)
    print(json.dumps({"port": server.server_port}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
