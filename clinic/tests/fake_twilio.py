"""A local stand-in for Twilio's Messages API (http.server in a thread), for clinic/sms.py's tests.

with FakeTwilio() as fake:            # fake.url -> settings.SMS_API_URL
    fake.answer = (201, {"sid": "SM1"})  # or (400, {...}), "hang" (accept, never answer), "close"
    ...
    fake.requests  # [Request(method, path, headers, form)], form parsed as UTF-8
"""

import json
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    method: str
    path: str
    headers: dict
    form: dict


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):
        fake = self.server.fake
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length).decode("ascii")  # a form body is URL-encoded: ASCII only
        form = dict(urllib.parse.parse_qsl(raw, keep_blank_values=True, encoding="utf-8", errors="strict"))
        fake.requests.append(Request("POST", self.path, dict(self.headers), form))
        answer = fake.answer
        if answer == "hang":
            fake.release.wait(30)  # longer than any client timeout in the tests; released on exit
            return
        if answer == "close":
            self.connection.close()
            return
        status, payload = answer
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class FakeTwilio:
    def __init__(self):
        self.requests = []
        self.answer = (201, {"sid": "SM00000000000000000000000000000001", "status": "queued"})
        self.release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.fake = self
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)
