"""What the sync examples share: a real WSGI server on 127.0.0.1, and a JSON POST as a browser would send it."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No access log in the examples' output."""


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve a WSGI app on 127.0.0.1 (stdlib wsgiref here; gunicorn or uWSGI in production); yields its URL."""
    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def post_json(url: str, payload: dict[str, Any]) -> Any:
    """POST `payload` as JSON; returns the answer's JSON."""
    data = json.dumps(payload).encode()
    call = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(call, timeout=10) as answer:
        return json.loads(answer.read())
