"""A real HTTP server on 127.0.0.1 that records webhook deliveries (for tests; not the Internet).

    with HookServer(responses=[500, 200]) as server:
        ... server.url ... server.requests  # [(path, headers, body), ...]
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HookServer:
    def __init__(self, responses=(), default_status: int = 200):
        self.responses = list(responses)  # status codes for the next requests, then default_status
        self.default_status = default_status
        self.requests: list = []  # (path, headers: email.message.Message, body)
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with server._lock:
                    server.requests.append((self.path, self.headers, body))  # case-insensitive
                    status = server.responses.pop(0) if server.responses else server.default_status
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                payload = b"ok" if status < 300 else b"nope: call 13800138000"
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hooks"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
