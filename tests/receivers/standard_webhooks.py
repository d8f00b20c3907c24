#!/usr/bin/env python3
"""A webhook receiver for the integration tests: it checks "Standard Webhooks"
signatures with the reference library (PyPI standardwebhooks), not our code.

    $TEST_PYTHON tests/receivers/standard_webhooks.py --port 0 --secrets whsec_a2V5MQ==,whsec_a2V5Mg==

(PYTHONPATH=$TEST_PYTHONPATH; both from .state/dev.env.) Prints one line,
`listening on HOST:PORT` (the bound port, so --port 0 picks a free one), then:

  POST <any other path>  verifies the body with each secret on its own and
                         records it; 204 if one verified, 401 if none, or the
                         forced status
  POST /control          {"status": 503} forces that status, {"status": null}
                         clears it; 204
  GET /received          200, the recorded deliveries in arrival order

Each delivery: path, webhook_id, webhook_timestamp, signature_header,
verified_by (indexes into --secrets), body (parsed JSON or null), answered.
Quiet; exits 0 on SIGTERM or SIGINT.
"""

import argparse
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from standardwebhooks.webhooks import Webhook


class State:
    def __init__(self, secrets):
        self.webhooks = [Webhook(secret) for secret in secrets]
        self.lock = threading.Lock()
        self.received = []
        self.forced = None


class Handler(BaseHTTPRequestHandler):
    # Keep-alive, as the service's HTTP client pools connections.
    protocol_version = "HTTP/1.1"
    server_version = "standard-webhooks-receiver"

    def log_message(self, format, *args):
        pass

    @property
    def state(self):
        return self.server.state

    def do_GET(self):
        if urlsplit(self.path).path == "/received":
            with self.state.lock:
                self.reply(200, list(self.state.received))
        else:
            self.reply(404, {"error": "not found"})

    def do_POST(self):
        body = self.read_body()
        if body is None:
            # The client hung up mid-body: nothing was delivered.
            self.close_connection = True
            return
        if urlsplit(self.path).path == "/control":
            self.control(body)
        else:
            self.delivery(body)

    def control(self, body):
        try:
            status = json.loads(body)["status"]
            if status is not None and (type(status) is not int or not 100 <= status <= 599):
                raise ValueError(status)
        except (ValueError, KeyError, TypeError):
            self.reply(400, {"error": 'expected {"status": <100..599 or null>}'})
            return
        with self.state.lock:
            self.state.forced = status
        self.reply(204)

    def delivery(self, body):
        # verify() lower-cases the keys itself; a dict is what it expects.
        headers = {key.lower(): value for key, value in self.headers.items()}
        verified_by = []
        for index, webhook in enumerate(self.state.webhooks):
            try:
                # json_parse=False: a signed body that is not JSON still verifies.
                webhook.verify(body, headers, json_parse=False)
            except Exception:  # malformed headers raise ValueError and the like too
                continue
            verified_by.append(index)
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        with self.state.lock:
            forced = self.state.forced
            status = forced if forced is not None else (204 if verified_by else 401)
            self.state.received.append(
                {
                    "path": self.path,
                    "webhook_id": headers.get("webhook-id"),
                    "webhook_timestamp": headers.get("webhook-timestamp"),
                    "signature_header": headers.get("webhook-signature"),
                    "verified_by": verified_by,
                    "body": parsed,
                    "answered": status,
                }
            )
        if forced is not None:
            self.reply(status, {"forced": status})
        elif verified_by:
            self.reply(204)
        else:
            self.reply(401, {"error": "no secret verified the signature"})

    def read_body(self):
        """The request body, or None if the connection ended before all of it."""
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            chunks = []
            while True:
                line = self.rfile.readline()
                try:
                    size = int(line.split(b";")[0], 16)
                except ValueError:  # also b"": the connection ended
                    return None
                if size == 0:
                    # Trailers, up to the empty line.
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunk = self.rfile.read(size)
                if len(chunk) < size:
                    return None
                chunks.append(chunk)
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        return body if len(body) == length else None

    def reply(self, status, payload=None):
        self.send_response(status)
        # 1xx, 204 and 304 have no body (nor Content-Length).
        if status < 200 or status in (204, 304):
            self.end_headers()
            return
        data = json.dumps(payload if payload is not None else {}).encode()
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 resets connections under a burst of deliveries.
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # A client that hangs up (a test's timeout) is not worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True, help="0 picks a free port")
    parser.add_argument("--secrets", required=True, help="comma-separated, e.g. whsec_a2V5MQ==,whsec_a2V5Mg==")
    args = parser.parse_args()

    secrets = [s.strip() for s in args.secrets.split(",") if s.strip()]
    if not secrets:
        parser.error("--secrets: at least one secret")
    try:
        state = State(secrets)
    except Exception as e:  # binascii.Error (not base64), EmptyWebhookSecretError
        parser.error(f"--secrets: not a Standard Webhooks secret (whsec_ + base64): {e}")

    server = Server((args.host, args.port), Handler)
    server.state = state
    # Blocked before any thread starts (they inherit the mask) and taken with
    # sigwait: no Python signal handler that could run while a lock is held.
    signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    print(f"listening on {args.host}:{server.server_address[1]}", flush=True)
    signal.sigwait(signals)
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
