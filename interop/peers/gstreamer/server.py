"""Echo Test server peer on GStreamer webrtcbin.

    /usr/bin/python3 interop/peers/gstreamer/server.py [--host 0.0.0.0] [--port 8080]

POST /offer takes a JSON RTCSessionDescriptionInit offer and returns the answer
with every candidate in it (non-trickle). Each offer gets its own pipeline, torn
down when its connection fails or closes. Prints "listening <port>" when ready.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from echo_session import EchoSession, log  # noqa: E402
from gst_webrtc import WebRTCError, is_loopback_host, keep_ice_on_loopback, parse_sdp  # noqa: E402

MAX_BODY_BYTES = 1 << 20


class Sessions:
    """The live sessions, so shutdown can close them all."""

    def __init__(self):
        self._lock = threading.Lock()
        self._live = {}

    def open(self):
        session = EchoSession(on_closed=self._forget)
        with self._lock:
            self._live[session.id] = session
        return session

    def _forget(self, session):
        with self._lock:
            self._live.pop(session.id, None)

    def close_all(self, limit=2.0):
        """Close every session in parallel, waiting at most `limit` seconds."""
        with self._lock:
            live = list(self._live.values())
        closers = [threading.Thread(target=s.close, args=("server stopping",), daemon=True) for s in live]
        for closer in closers:
            closer.start()
        end = time.monotonic() + limit
        for closer in closers:
            closer.join(max(0.0, end - time.monotonic()))


class OfferHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    sessions: Sessions = None  # set by main()

    def _send(self, status, body, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _fail(self, status, reason):
        self._send(status, json.dumps({"error": reason}))

    def do_OPTIONS(self):  # noqa: N802 (http.server naming)
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.send_header("Access-Control-Max-Age", "86400")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):  # noqa: N802
        if self.path.split("?")[0].rstrip("/") != "/offer":
            return self._fail(404, "not found; POST the offer to /offer")
        offer = self._read_offer()
        if offer is None:
            return
        session = self.sessions.open()
        try:
            answer = session.answer(offer)
        except WebRTCError as error:
            session.close(f"negotiation failed: {error}")
            return self._fail(500, str(error))
        except Exception as error:  # a bug must not leave a pipeline behind
            session.close(f"negotiation crashed: {error!r}")
            return self._fail(500, f"internal error: {error!r}")
        self._send(200, json.dumps({"type": "answer", "sdp": answer}))

    def _read_offer(self):
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length <= 0 or length > MAX_BODY_BYTES:
            self._fail(400, "need a JSON body with Content-Length")
            return None
        try:
            body = json.loads(self.rfile.read(length))
        except (ValueError, UnicodeDecodeError):
            self._fail(400, "body is not JSON")
            return None
        if not isinstance(body, dict) or body.get("type") != "offer" or not isinstance(body.get("sdp"), str):
            self._fail(400, 'body must be {"type": "offer", "sdp": "..."}')
            return None
        if not _looks_like_offer(body["sdp"]):
            self._fail(400, "sdp is not an offer with at least one m-section")
            return None
        return body["sdp"]

    def log_message(self, format, *args):  # noqa: A002 (http.server signature)
        log("http " + format % args)


def _looks_like_offer(sdp):
    try:
        return parse_sdp(sdp).medias_len() > 0 and sdp.lstrip().startswith("v=0")
    except WebRTCError:
        return False


def main():
    parser = argparse.ArgumentParser(description="GStreamer webrtcbin Echo Test server")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    if is_loopback_host(args.host):
        # A server on loopback is for clients on this machine: it announces loopback only.
        keep_ice_on_loopback()

    sessions = Sessions()
    OfferHandler.sessions = sessions
    try:
        httpd = ThreadingHTTPServer((args.host, args.port), OfferHandler)
    except OSError as error:
        log(f"cannot listen on {args.host}:{args.port}: {error}")
        return 1
    httpd.daemon_threads = True

    # The handler only appends to a list: a handler that takes a lock (as
    # threading.Event.set does) can deadlock when the signal lands while the
    # main thread holds that same lock.
    signals = []
    signal.signal(signal.SIGTERM, lambda number, _frame: signals.append(number))
    signal.signal(signal.SIGINT, lambda number, _frame: signals.append(number))
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    print(f"listening {httpd.server_address[1]}", flush=True)

    while not signals:
        time.sleep(0.2)  # a signal interrupts the sleep and runs the handler
    log("stopping")
    httpd.shutdown()
    httpd.server_close()
    sessions.close_all()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # GStreamer threads may still be winding down; do not let them delay or
    # change the exit status.
    os._exit(code)
