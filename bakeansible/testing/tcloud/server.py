"""The HTTP front: the API on ``/`` and an admin API on ``/_admin/...``, on loopback.

Every API answer is HTTP 200 with ``Content-Type: application/json`` (no charset: the Python SDK
ignores error envelopes under any other content type) and a ``RequestId``, like the real API.

Admin endpoints (no authentication; the server listens on loopback only):

- ``GET /_admin/resources``: live resources per region (what tests assert is empty)
- ``GET /_admin/calls``: API calls counted per action, and the total
- ``GET /_admin/faults``, ``POST /_admin/faults`` (one rule object or a list),
  ``DELETE /_admin/faults``: the fault plan (see ``Faults.add_from_dict``)
"""

from __future__ import annotations

import json
import logging
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from bakeansible.testing.tcloud import dispatch
from bakeansible.testing.tcloud.cloud import Cloud

log = logging.getLogger(__name__)


class EmulatorServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its cloud."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], cloud: Cloud):
        super().__init__(address, _Handler)
        self.cloud = cloud


class _Handler(BaseHTTPRequestHandler):
    server: EmulatorServer
    server_version = "tcloud-emulator"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if parts.path.startswith("/_admin/"):
            self._admin(method, parts.path, body)
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        outcome = dispatch.handle(
            self.server.cloud,
            self.server.cloud.keys,
            method=method,
            path=parts.path or "/",
            query=parts.query,
            headers=headers,
            body=body,
        )
        if outcome.delay:
            time.sleep(outcome.delay)
        if outcome.body is None:
            # Injected connection drop: close without a status line.
            self.close_connection = True
            return
        self._send(outcome.body)

    def _send(self, payload: Any, status: int = 200) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _admin(self, method: str, path: str, body: bytes) -> None:
        cloud = self.server.cloud
        try:
            if path == "/_admin/resources" and method == "GET":
                self._send(cloud.live_resources())
            elif path == "/_admin/calls" and method == "GET":
                with cloud.lock:
                    counts = dict(cloud.call_counts)
                self._send({"total": sum(counts.values()), "by_action": counts})
            elif path == "/_admin/faults" and method == "GET":
                self._send(cloud.faults.to_dict())
            elif path == "/_admin/faults" and method == "POST":
                spec = json.loads(body or b"{}")
                for item in spec if isinstance(spec, list) else [spec]:
                    cloud.faults.add_from_dict(item)
                self._send(cloud.faults.to_dict())
            elif path == "/_admin/faults" and method == "DELETE":
                cloud.faults.clear()
                self._send(cloud.faults.to_dict())
            else:
                self._send({"error": f"no admin endpoint {method} {path}"}, 404)
        except (ValueError, TypeError) as exc:
            self._send({"error": str(exc)}, 400)
