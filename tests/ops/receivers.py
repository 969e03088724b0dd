"""Real local receivers for the alert tests: an HTTP server and an SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class HttpReceiver:
    """Records every POST (path, JSON body). ``/flaky`` answers 500 to its first ``fail_first`` requests;
    ``/slow`` answers after ``delay`` seconds; ``/gone`` always answers 503."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, Any]] = []
        self.errors: list[BaseException | None] = []
        self.fail_first = 0
        self.delay = 0.0
        self._flaky_seen = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = 200
                if self.path == "/flaky":
                    receiver._flaky_seen += 1
                    status = 500 if receiver._flaky_seen <= receiver.fail_first else 200
                elif self.path == "/slow":
                    time.sleep(receiver.delay)
                elif self.path == "/gone":
                    status = 503
                if status == 200:
                    receiver.posts.append((self.path, json.loads(body)))
                try:
                    self.send_response(status)
                    self.end_headers()
                    self.wfile.write(b"ok")
                except ConnectionError:      # the sender gave up (``/slow`` past its timeout): nothing to answer
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                """Kept in ``errors`` instead of printed: socketserver prints a traceback to stderr from the
                handler's thread, which can land in a later test's captured stderr (a test that asserts no
                traceback reached its user)."""
                receiver.errors.append(sys.exc_info()[1])

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def bodies(self, path: str) -> list[Any]:
        return [b for p, b in self.posts if p == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpReceiver:
    """An aiosmtpd server on a free local port that keeps every message it accepts."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller
        self.messages: list[Any] = []
        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                from email import message_from_bytes
                receiver.messages.append(message_from_bytes(envelope.content))
                return "250 Message accepted"

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()
