"""Echo Test client peer on GStreamer webrtcbin.

    /usr/bin/python3 interop/peers/gstreamer/client.py URL
    /usr/bin/python3 interop/peers/gstreamer/client.py -s URL -t 0|1 [--timeout 15]
    /usr/bin/python3 interop/peers/gstreamer/client.py "-s URL -t 1"

Test 0 offers Opus audio and VP8 video from test sources and succeeds once ICE
and DTLS are up; it reports echoed RTP packets on stderr. Test 1 opens a data
channel, sends a short random string, and succeeds when the same string comes
back. Exit 0 on success, 1 with a one-line reason on stderr otherwise.
"""

import argparse
import json
import os
import random
import shlex
import string
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gst_webrtc import (  # noqa: E402
    CandidateGatherer,
    Gst,
    GstWebRTC,
    WebRTCError,
    description,
    make_webrtcbin,
    run_promise,
    stop_pipeline,
    watch_errors,
)

# After connecting, how long test 0 waits for echoed packets before reporting.
ECHO_WAIT_SECONDS = 2.0
MEDIA_SOURCES = (
    # (kind, source chain ending in a payloader, caps webrtcbin sees)
    (
        "audio",
        "audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! "
        "opusenc ! rtpopuspay pt=111",
        "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000,encoding-params=(string)2",
    ),
    (
        "video",
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1 ! "
        "videoconvert ! vp8enc deadline=1 keyframe-max-dist=30 ! rtpvp8pay pt=96 mtu=1200 picture-id-mode=2",
        "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000",
    ),
)
ConnectionState = GstWebRTC.WebRTCPeerConnectionState


class Failure(Exception):
    """The test failed; the message is the one-line reason we print."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # A usage error fails the test like any other failure: exit 1, not 2.
        self.print_usage(sys.stderr)
        log(f"fail: {message}")
        sys.exit(1)


def parse_args(argv):
    # The container contract passes "-s URL -t 1" as one argument.
    if len(argv) == 1 and argv[0].lstrip().startswith("-") and " " in argv[0].strip():
        argv = shlex.split(argv[0])
    parser = _Parser(description="GStreamer webrtcbin Echo Test client")
    parser.add_argument("url", nargs="?", help="the server's /offer URL")
    parser.add_argument("-s", "--server", help="the server's /offer URL")
    parser.add_argument("-t", "--test", type=int, choices=(0, 1), default=0,
                        help="0 peer connection (default), 1 data channel echo")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds (default 15)")
    args = parser.parse_args(argv)
    args.url = args.server or args.url
    if not args.url:
        parser.error("need the server URL (URL or -s URL)")
    return args


class EchoClient:
    def __init__(self, test, deadline):
        self.test = test
        self.deadline = deadline
        self.failed = None  # a reason set from GStreamer threads
        self.changed = threading.Condition()
        self.echo_packets = {}
        self.pipeline = Gst.Pipeline.new("echo-client")
        self.webrtc = make_webrtcbin()
        self.pipeline.add(self.webrtc)
        self.gatherer = CandidateGatherer(self.webrtc)
        self.webrtc.connect("notify::connection-state", self._notify)
        self.webrtc.connect("notify::ice-connection-state", self._notify)
        self.webrtc.connect("pad-added", self._on_pad_added)
        self._stopped = threading.Event()
        watch_errors(self.pipeline, self._fail, self._stopped)
        self.channel = None
        self.sent = None
        self.received = None

    # --- waiting ------------------------------------------------------------

    def remaining(self):
        return self.deadline - time.monotonic()

    def _notify(self, *_args):
        with self.changed:
            self.changed.notify_all()

    def _fail(self, reason):
        with self.changed:
            if self.failed is None:
                self.failed = reason
            self.changed.notify_all()

    def wait_for(self, what, condition, limit=None):
        """Wait until condition() holds; raise Failure on error or deadline."""
        end = self.deadline if limit is None else min(self.deadline, time.monotonic() + limit)
        with self.changed:
            while True:
                if self.failed:
                    raise Failure(self.failed)
                if condition():
                    return True
                left = end - time.monotonic()
                if left <= 0:
                    if limit is not None and end < self.deadline:
                        return False
                    raise Failure(f"timeout waiting for {what}")
                self.changed.wait(min(left, 0.25))

    # --- setup --------------------------------------------------------------

    def add_media(self):
        for kind, chain, caps in MEDIA_SOURCES:
            source = Gst.parse_bin_from_description(f"{chain} ! capsfilter caps={caps}", True)
            self.pipeline.add(source)
            sink = self.webrtc.request_pad_simple("sink_%u")
            source.get_static_pad("src").link(sink)
            sink.get_property("transceiver").set_property(
                "direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDRECV)
            self.echo_packets[kind] = 0

    def add_data_channel(self):
        self.channel = self.webrtc.emit("create-data-channel", "echo", None)
        if self.channel is None:
            raise Failure("webrtcbin could not create a data channel")
        self.channel.connect("on-open", self._notify)
        self.channel.connect("on-message-string", self._on_message)
        self.channel.connect("on-message-data", lambda c, data: self._on_message(c, data.get_data()))
        self.channel.connect("on-error", lambda _c, error: self._fail(f"data channel error: {error.message}"))
        self.channel.connect("on-close", lambda _c: self._fail("data channel closed before the echo"))

    def _on_message(self, _channel, message):
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        with self.changed:
            self.received = message
            self.changed.notify_all()

    def _on_pad_added(self, _webrtc, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        # The caps say what the stream is; webrtcbin 1.22 can report the wrong
        # kind on the transceiver of a bundled src pad.
        caps = pad.get_current_caps()
        kind = caps.get_structure(0).get_string("media") if caps is not None else None
        kind = kind if kind in ("audio", "video") else "other"
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("async", False)
        sink.set_property("sync", False)
        self.pipeline.add(sink)
        sink.sync_state_with_parent()
        pad.add_probe(Gst.PadProbeType.BUFFER, self._count_packet, kind)
        pad.link(sink.get_static_pad("sink"))

    def _count_packet(self, _pad, _info, kind):
        with self.changed:
            self.echo_packets[kind] = self.echo_packets.get(kind, 0) + 1
            self.changed.notify_all()
        return Gst.PadProbeReturn.OK

    # --- the test -----------------------------------------------------------

    def run(self, url):
        if self.test == 0:
            self.add_media()
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            raise Failure("pipeline would not start")
        if self.test == 1:
            self.add_data_channel()
        offer = run_promise(self.webrtc, "create-offer", None, field="offer")
        run_promise(self.webrtc, "set-local-description", offer)
        offer_sdp = self.gatherer.local_sdp(limit=max(0.1, min(3.0, self.remaining())))
        answer_sdp = post_offer(url, offer_sdp, self.remaining())
        try:
            run_promise(self.webrtc, "set-remote-description", description("answer", answer_sdp))
        except WebRTCError as error:
            raise Failure(f"answer rejected: {error}") from error

        def connected():
            state = self.webrtc.get_property("connection-state")
            if state == ConnectionState.FAILED:
                raise Failure("connection failed (ICE or DTLS)")
            return state == ConnectionState.CONNECTED

        self.wait_for("ICE and DTLS to connect", connected)
        log("connected")
        if self.test == 0:
            self.wait_for("echo", lambda: all(n > 0 for n in self.echo_packets.values()),
                          limit=ECHO_WAIT_SECONDS)
            log("echo-packets " + " ".join(f"{k}={n}" for k, n in self.echo_packets.items()))
        else:
            self.wait_for("the data channel to open", self._channel_open)
            self.sent = "".join(random.choice(string.ascii_letters + string.digits) for _ in range(5))
            self.channel.send_string(self.sent)
            self.wait_for("the data channel echo", lambda: self.received is not None)
            if self.received != self.sent:
                raise Failure(f"echo mismatch: sent {self.sent!r}, got {self.received!r}")
            log(f"data channel echo ok: {self.sent}")

    def _channel_open(self):
        return self.channel.get_property("ready-state") == GstWebRTC.WebRTCDataChannelState.OPEN

    def close(self):
        self.failed = self.failed or "closing"  # silences the channel's on-close
        if self.channel is not None and self._channel_open():
            self.channel.close()
            # Let the SCTP stream reset reach the server, so it can end the
            # session now rather than when ICE keepalives fail much later.
            end = time.monotonic() + 0.5
            while time.monotonic() < end and self.channel.get_property("ready-state") != \
                    GstWebRTC.WebRTCDataChannelState.CLOSED:
                time.sleep(0.02)
        stopped = stop_pipeline(self.pipeline)
        self._stopped.set()
        return stopped


def post_offer(url, offer_sdp, seconds):
    if seconds <= 0:
        raise Failure("timeout before the offer was sent")
    body = json.dumps({"type": "offer", "sdp": offer_sdp}).encode()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=seconds) as response:
            raw = response.read()
    except urllib.error.HTTPError as error:
        raise Failure(f"HTTP {error.code} from {url}: {error.read()[:200]!r}") from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise Failure(f"cannot POST the offer to {url}: {reason}") from error
    try:
        answer = json.loads(raw)
    except ValueError as error:
        raise Failure(f"answer is not JSON: {raw[:80]!r}") from error
    if not isinstance(answer, dict) or answer.get("type") != "answer" or not isinstance(answer.get("sdp"), str):
        raise Failure('answer body must be {"type": "answer", "sdp": "..."}')
    return answer["sdp"]


def log(message):
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def hard_exit():
    log("watchdog: client did not finish in time")
    os._exit(1)


def main(argv):
    args = parse_args(argv)
    deadline = time.monotonic() + args.timeout
    # Whatever hangs (a stuck state change, a blocked socket), we still exit 1.
    watchdog = threading.Timer(args.timeout + 5.0, hard_exit)
    watchdog.daemon = True
    watchdog.start()
    client = None
    code = 1
    try:
        client = EchoClient(args.test, deadline)
        client.run(args.url)
        code = 0
    except (Failure, WebRTCError) as error:
        log(f"fail: {error}")
    except Exception as error:  # keep the one-line contract even for bugs
        log(f"fail: internal error {error!r}")
    if client is not None and not client.close():
        log("warning: pipeline did not stop in time")
    return code


if __name__ == "__main__":
    exit_code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code)
