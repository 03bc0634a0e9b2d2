"""Echo Test client peer on GStreamer webrtcbin.

    /usr/bin/python3 interop/peers/gstreamer/client.py URL
    /usr/bin/python3 interop/peers/gstreamer/client.py -s URL -t 0|1 [--timeout 15]
    /usr/bin/python3 interop/peers/gstreamer/client.py "-s URL -t 1"

Test 0 offers Opus audio and VP8 video (sendrecv, from test sources) and passes
once ICE and DTLS are up; it reports the RTP packets echoed back as
"echo-packets N". Test 1 opens a data channel, sends 5 random characters and
passes when the same string comes back. Exit 0 on success; exit 1 with one line
"error: <reason>: <detail>" on stderr otherwise.
"""

import hashlib
import json
import os
import re
import ssl
import random
import string
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from client_args import USAGE, UsageError, parse_args  # noqa: E402
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
    webrtcbin_object,
)

MEDIA_SOURCES = (
    # (source chain ending in a payloader, the caps webrtcbin offers from)
    (
        "audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! "
        "opusenc ! rtpopuspay pt=111",
        # encoding-params: peers expect "opus/48000/2" in the rtpmap.
        "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000,"
        "encoding-params=(string)2",
    ),
    (
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1 ! "
        "videoconvert ! vp8enc deadline=1 keyframe-max-dist=30 ! "
        "rtpvp8pay pt=96 mtu=1200 picture-id-mode=2",
        "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000",
    ),
)
# The HTTP request and our own set-up get the whole --timeout; closing gets this
# much more before the watchdog gives up on us.
CLOSE_SECONDS = 2.0
ConnectionState = GstWebRTC.WebRTCPeerConnectionState
ChannelState = GstWebRTC.WebRTCDataChannelState


class Failure(Exception):
    """A failed run. reason is one of signaling-unreachable, signaling-http,
    bad-answer, connection-failed, timeout, echo-mismatch, no-echo."""

    def __init__(self, reason, detail):
        super().__init__(f"{reason}: {detail}")


class Stopwatch:
    """Prints "<step>_ms N" on stderr, N in ms since the client started."""

    def __init__(self):
        self.start = time.monotonic()

    def mark(self, step):
        log(f"{step}_ms {int((time.monotonic() - self.start) * 1000)}")


class EchoClient:
    def __init__(self, opts, watch):
        self.opts = opts
        self.watch = watch
        self.deadline = watch.start + opts.timeout
        self.broken = None  # a Failure raised from a GStreamer thread
        self.changed = threading.Condition()
        self.echo_packets = {}  # media kind -> RTP packets echoed back
        self.channel = None
        self.received = None
        self.closing = False
        self.pipeline = Gst.Pipeline.new("echo-client")
        self.webrtc = make_webrtcbin()
        self.pipeline.add(self.webrtc)
        self.gatherer = CandidateGatherer(self.webrtc)
        self.webrtc.connect("notify::connection-state", self._wake)
        self.webrtc.connect("pad-added", self._on_pad_added)
        self._stopped = threading.Event()
        watch_errors(self.pipeline, lambda reason: self._break("connection-failed", reason), self._stopped)

    # --- waiting ------------------------------------------------------------

    def _wake(self, *_args):
        with self.changed:
            self.changed.notify_all()

    def _break(self, reason, detail):
        with self.changed:
            if self.broken is None and not self.closing:
                self.broken = Failure(reason, detail)
            self.changed.notify_all()

    def wait_for(self, what, condition, limit=None):
        """Wait until condition() holds. Raises a timeout Failure at the run's
        deadline; returns False when the shorter `limit` (seconds) runs out."""
        end = self.deadline if limit is None else min(self.deadline, time.monotonic() + limit)
        with self.changed:
            while True:
                if self.broken is not None:
                    raise self.broken
                if condition():
                    return True
                left = end - time.monotonic()
                if left <= 0:
                    if time.monotonic() < self.deadline:
                        return False
                    raise Failure("timeout", f"waiting for {what} ({self.opts.timeout:g} s)")
                self.changed.wait(min(left, 0.25))

    # --- what we offer ------------------------------------------------------

    def add_media(self):
        for chain, caps in MEDIA_SOURCES:
            # A fixed SSRC in the caps puts a=ssrc lines in the offer even before
            # the first packet, so servers that route bundled streams by SSRC
            # (pion and libdatachannel, without a MID header extension) find ours.
            ssrc = random.randint(1, 0xFFFFFFFF)
            description = f"{chain} ssrc={ssrc} ! capsfilter caps={caps},ssrc=(uint){ssrc}"
            source = Gst.parse_bin_from_description(description, True)
            self.pipeline.add(source)
            sink = self.webrtc.request_pad_simple("sink_%u")
            source.get_static_pad("src").link(sink)
            sink.get_property("transceiver").set_property(
                "direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDRECV)

    def add_data_channel(self):
        self.channel = self.webrtc.emit("create-data-channel", "echo", None)
        if self.channel is None:
            raise Failure("internal", "webrtcbin could not create a data channel")
        self.channel.connect("on-open", self._on_channel_open)
        self.channel.connect("on-message-string", self._on_message)
        self.channel.connect("on-message-data", lambda c, data: self._on_message(c, data.get_data()))
        self.channel.connect("on-error", lambda _c, error: self._break("connection-failed", f"data channel: {error.message}"))
        self.channel.connect("on-close", lambda _c: self._break("connection-failed", "data channel closed before the echo"))

    def _on_channel_open(self, _channel):
        self.watch.mark("dc_open")
        self._wake()

    def _on_message(self, _channel, message):
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        with self.changed:
            if self.received is None:
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
            if not self.echo_packets:
                self.watch.mark("first_echo")
            self.echo_packets[kind] = self.echo_packets.get(kind, 0) + 1
            self.changed.notify_all()
        return Gst.PadProbeReturn.OK

    # --- the test -----------------------------------------------------------

    def run(self):
        if self.opts.test == 0:
            self.add_media()
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            raise Failure("internal", "pipeline would not start")
        if self.opts.test == 1:
            self.add_data_channel()
        offer = run_promise(self.webrtc, "create-offer", None, field="offer")
        run_promise(self.webrtc, "set-local-description", offer)
        offer_sdp = self.gatherer.local_sdp(limit=max(0.1, min(3.0, self.deadline - time.monotonic())))
        self.watch.mark("offer")

        answer_sdp = post_offer(self.opts.url, offer_sdp, self.deadline - time.monotonic())
        self.watch.mark("answer")
        try:
            run_promise(self.webrtc, "set-remote-description", description("answer", answer_sdp))
        except WebRTCError as error:
            raise Failure("bad-answer", f"set answer: {error}") from error

        self.wait_for("connection (ICE+DTLS)", self._connected)
        self._check_fingerprint(answer_sdp)
        self.watch.mark("connected")
        if self.opts.test == 0:
            self._check_media_echo()
        else:
            self._check_data_echo()

    def _connected(self):
        state = self.webrtc.get_property("connection-state")
        if state in (ConnectionState.FAILED, ConnectionState.CLOSED):
            raise Failure("connection-failed", f"peer connection {state.value_nick}")
        return state == ConnectionState.CONNECTED

    def _check_fingerprint(self, answer_sdp):
        """webrtcbin 1.22 completes DTLS with any certificate (an answer with a
        forged a=fingerprint connected in our tests), so we compare the one
        the server presented with the one its answer declared."""
        declared = re.findall(r"^a=fingerprint:(\S+) (\S+)", answer_sdp, re.M)
        if not declared:
            raise Failure("bad-answer", "no a=fingerprint in the answer")
        pem = self._dtls_transport().get_property("remote-certificate")
        if not pem:
            raise Failure("connection-failed", "DTLS up but no remote certificate")
        der = ssl.PEM_cert_to_DER_cert(pem)
        for algorithm, value in declared:
            try:
                digest = hashlib.new(algorithm.replace("-", "").lower(), der).hexdigest()
            except ValueError:
                continue
            if ":".join(digest[i:i + 2] for i in range(0, len(digest), 2)).upper() == value.upper():
                return
        raise Failure("connection-failed", "the server's DTLS certificate does not match its a=fingerprint")

    def _dtls_transport(self):
        if self.opts.test == 1:
            return webrtcbin_object(self.webrtc, "sctp-transport").get_property("transport")
        transceiver = self.webrtc.emit("get-transceiver", 0)
        return transceiver.get_property("sender").get_property("transport")

    def _check_media_echo(self):
        if self.opts.echo_ms > 0:
            if self.opts.require_echo:
                self.wait_for("echoed media", lambda: bool(self.echo_packets), self.opts.echo_ms / 1000)
            else:
                self.wait_for("echoed media", lambda: False, self.opts.echo_ms / 1000)
        with self.changed:
            counts = dict(self.echo_packets)
        by_kind = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()))
        log(f"echo-packets {sum(counts.values())}" + (f" ({by_kind})" if by_kind else ""))
        if self.opts.require_echo and not counts:
            raise Failure("no-echo", f"no RTP packet echoed within {self.opts.echo_ms} ms")

    def _check_data_echo(self):
        self.wait_for("the data channel to open", self._channel_open)
        sent = "".join(random.choice(string.ascii_letters + string.digits) for _ in range(5))
        self.channel.send_string(sent)
        self.wait_for("the data channel echo", lambda: self.received is not None)
        if self.received != sent:
            raise Failure("echo-mismatch", f"sent {sent!r}, got {self.received!r}")
        self.watch.mark("dc_echo")

    def _channel_open(self):
        return self.channel.get_property("ready-state") == ChannelState.OPEN

    def close(self):
        """Bounded: closes the channel, then stops the pipeline."""
        with self.changed:
            self.closing = True  # the channel's on-close is no failure now
        if self.channel is not None and self._channel_open():
            self.channel.close()
            # Let the SCTP stream reset reach the server, so it can end the
            # session now rather than when ICE keepalives fail much later.
            end = time.monotonic() + 0.5
            while time.monotonic() < end and self.channel.get_property("ready-state") != ChannelState.CLOSED:
                time.sleep(0.02)
        stopped = stop_pipeline(self.pipeline, limit=CLOSE_SECONDS)
        self._stopped.set()
        return stopped


def post_offer(url, offer_sdp, seconds):
    if seconds <= 0:
        raise Failure("timeout", "no time left to send the offer")
    body = json.dumps({"type": "offer", "sdp": offer_sdp}).encode()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=seconds) as response:
            raw = response.read()
    except urllib.error.HTTPError as error:
        raise Failure("signaling-http", f"HTTP {error.code}: {one_line(error.read())}") from error
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise Failure("timeout", f"waiting for the answer from {url}") from error
        raise Failure("signaling-unreachable", f"{url}: {error.reason}") from error
    except TimeoutError as error:
        raise Failure("timeout", f"waiting for the answer from {url}") from error
    except OSError as error:
        raise Failure("signaling-unreachable", f"{url}: {error}") from error
    try:
        answer = json.loads(raw)
        if answer.get("type") != "answer" or not isinstance(answer.get("sdp"), str):
            raise ValueError
    except (ValueError, AttributeError) as error:
        raise Failure("bad-answer", f"not an SDP answer: {one_line(raw)}") from error
    return answer["sdp"]


def one_line(raw):
    text = " ".join(raw.decode("utf-8", "replace").split())
    return text if len(text) <= 200 else text[:200] + "..."


def log(message):
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def main(argv):
    try:
        opts = parse_args(argv)
    except UsageError as error:
        log(f"error: usage: {error}\n{USAGE}")
        return 1
    watch = Stopwatch()
    # Whatever hangs (a stuck state change, a blocked socket), we still exit 1.
    watchdog = threading.Timer(opts.timeout + CLOSE_SECONDS + 1.0, _watchdog, args=(opts.timeout,))
    watchdog.daemon = True
    watchdog.start()
    client = None
    code = 1
    try:
        client = EchoClient(opts, watch)
        client.run()
        log(f"ok test {opts.test}")
        code = 0
    except Failure as error:
        log(f"error: {error}")
    except Exception as error:  # keep the one-line contract even for bugs
        log(f"error: internal: {error!r}")
    if client is not None and not client.close():
        log("warning: pipeline did not stop in time")
    return code


def _watchdog(timeout):
    log(f"error: timeout: the client did not finish ({timeout:g} s + close)")
    sys.stderr.flush()
    os._exit(1)


if __name__ == "__main__":
    exit_code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # GStreamer threads may still be winding down; they must not change or
    # delay the exit status.
    os._exit(exit_code)
