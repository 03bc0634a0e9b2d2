"""Echo Test client peer on GStreamer webrtcbin.

    /usr/bin/python3 interop/peers/gstreamer/client.py URL
    /usr/bin/python3 interop/peers/gstreamer/client.py -s URL -t 0|1 [--timeout 15]
    /usr/bin/python3 interop/peers/gstreamer/client.py "-s URL -t 1"

Test 0 offers Opus audio and VP8 video (sendrecv, from test sources) and passes
once ICE and DTLS are up; it reports the RTP packets echoed back as
"echo-packets N". Test 1 opens a data channel, sends 5 random characters and
passes when the same string comes back. Exit 0 on success; exit 1 with one line
"error: <reason>: <detail>" on stderr otherwise; 127 for a test type it does not run.
Sub-checks go to stderr as "check <name> <status> <detail>" lines (../common/subchecks.py).
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))

import subchecks  # noqa: E402
from client_args import USAGE, UsageError, parse_args  # noqa: E402
from gst_webrtc import (  # noqa: E402
    CandidateGatherer,
    GLib,
    Gst,
    GstWebRTC,
    WebRTCError,
    description,
    is_loopback_url,
    keep_ice_on_loopback,
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
# The media probes (PLI) take up to ~3 s; with less left they are skipped.
MEDIA_PROBE_SECONDS = 4.0
# srtpenc's cipher and auth, as it names them, to the DTLS-SRTP profile (RFC 5764 §4.1.2, RFC 7714).
SRTP_PROFILES = {
    ("aes-128-icm", "hmac-sha1-80"): "SRTP_AES128_CM_HMAC_SHA1_80",
    ("aes-128-icm", "hmac-sha1-32"): "SRTP_AES128_CM_HMAC_SHA1_32",
    ("aes-128-gcm", "null"): "SRTP_AEAD_AES_128_GCM",
    ("aes-256-gcm", "null"): "SRTP_AEAD_AES_256_GCM",
}
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
        self.rest = []  # data channel messages after the string echo
        self.closing = False
        # For the sub-checks
        self.offer_sdp = None
        self.answer_sdp = None
        self.ice_connected = False
        self.channel_opened = False
        self.video_pad = None
        self.samples = []  # echoed video RTP packets (bytes), the first 200
        self.echo_listeners = []
        self.first_echo_at = None
        self.probing = False
        self.probe_error = None
        self.pipeline = Gst.Pipeline.new("echo-client")
        self.webrtc = make_webrtcbin()
        self.pipeline.add(self.webrtc)
        self.gatherer = CandidateGatherer(self.webrtc)
        self.webrtc.connect("notify::connection-state", self._wake)
        self.webrtc.connect("notify::ice-connection-state", self._on_ice_state)
        self.webrtc.connect("pad-added", self._on_pad_added)
        self._stopped = threading.Event()
        watch_errors(self.pipeline, lambda reason: self._break("connection-failed", reason), self._stopped)

    # --- waiting ------------------------------------------------------------

    def _wake(self, *_args):
        with self.changed:
            self.changed.notify_all()

    def _on_ice_state(self, *_args):
        state = self.webrtc.get_property("ice-connection-state")
        if state in (GstWebRTC.WebRTCICEConnectionState.CONNECTED, GstWebRTC.WebRTCICEConnectionState.COMPLETED) and not self.ice_connected:
            self.ice_connected = True
            self.watch.mark("ice_connected")

    def _break(self, reason, detail):
        with self.changed:
            if self.probing:
                # An error while the sub-checks probe is theirs to report, not the test's.
                self.probe_error = self.probe_error or detail
            elif self.broken is None and not self.closing:
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
        self.channel.connect("on-message-data", lambda c, data: self._on_message(c, bytes(data.get_data()) if data is not None else b""))
        self.channel.connect("on-error", lambda _c, error: self._break("connection-failed", f"data channel: {error.message}"))
        self.channel.connect("on-close", lambda _c: self._break("connection-failed", "data channel closed before the echo"))

    def _on_channel_open(self, _channel):
        self.channel_opened = True
        self.watch.mark("dc_open")
        self._wake()

    def _on_message(self, _channel, message):
        with self.changed:
            if self.received is None:
                self.received = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
            else:
                self.rest.append(message)  # the sub-checks' messages: bytes stay bytes
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
        if kind == "video":
            self.video_pad = pad

    def _count_packet(self, pad, info, kind):
        if kind == "other":
            # The caps were not set yet when the pad came: they are by the first buffer.
            caps = pad.get_current_caps()
            media = caps.get_structure(0).get_string("media") if caps is not None else None
            kind = media if media in ("audio", "video") else "other"
        if kind == "video":
            self.video_pad = pad
            buffer = info.get_buffer()
            packet = buffer.extract_dup(0, buffer.get_size())
            with self.changed:
                if self.first_echo_at is None:
                    self.first_echo_at = time.monotonic()
                if len(self.samples) < 200:
                    self.samples.append(packet)
                listeners = list(self.echo_listeners)
            for listener in listeners:
                listener(packet)
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
        self.offer_sdp = offer_sdp

        answer_sdp = post_offer(self.opts.url, offer_sdp, self.deadline - time.monotonic())
        self.watch.mark("answer")
        self.answer_sdp = answer_sdp
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
            echoed = bool(self.echo_packets)
        if echoed:
            if self.deadline - time.monotonic() > MEDIA_PROBE_SECONDS:
                self.probe_media()
            else:
                for name in ("pli-keyframe", "nack", "mid-extension"):
                    subchecks.report(name, "n/a", "too little time left in --timeout to probe")
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
        if self.received == sent:
            self.watch.mark("dc_echo")
        # The sub-checks after a wrong echo too: they say more about it.
        self.probe_data_channel()
        if self.received != sent:
            raise Failure("echo-mismatch", f"sent {sent!r}, got {self.received!r}")

    # --- sub-checks (../common/subchecks.py) -----------------------------------

    def _elements(self, factory):
        found, it = [], self.webrtc.iterate_recurse()
        while True:
            result, element = it.next()
            if result != Gst.IteratorResult.OK:
                return found
            if element.get_factory() is not None and element.get_factory().get_name() == factory:
                found.append(element)

    def report_transport_checks(self):
        """dtls-role (a=setup, and dtlsenc's is-client), srtp-profile (the cipher and auth
        dtlssrtpenc gave its srtpenc) or sctp-zero-checksum (n/a: usrsctp's own)."""
        if self.answer_sdp is None:
            return
        connected = self.webrtc.get_property("connection-state") == ConnectionState.CONNECTED or self.channel_opened or bool(self.echo_packets)
        encoders = self._elements("dtlsenc")
        role = None
        if encoders:
            role = "client" if encoders[0].get_property("is-client") else "server"
        subchecks.check_dtls_role(self.offer_sdp, self.answer_sdp, self.ice_connected, connected, role, "webrtcbin's dtlsenc")
        if not connected:
            return
        if self.opts.test == 0:
            srtp = self._elements("srtpenc")
            if not srtp:
                return subchecks.report("srtp-profile", "n/a", "no srtpenc in webrtcbin")
            cipher = srtp[0].get_property("rtp-cipher").value_nick
            auth = srtp[0].get_property("rtp-auth").value_nick
            profile = SRTP_PROFILES.get((cipher, auth))
            if cipher == "null":
                subchecks.report("srtp-profile", "fail", f"srtpenc cipher {cipher}, auth {auth}: no encryption")
            elif profile is None:
                subchecks.report("srtp-profile", "pass", f"srtpenc cipher {cipher}, auth {auth}")
            else:
                subchecks.report("srtp-profile", "pass", f"{profile} (srtpenc cipher {cipher}, auth {auth})")
        else:
            subchecks.report("sctp-zero-checksum", "n/a", "webrtcbin's usrsctp (sctpenc/sctpdec) keeps the remote INIT parameters to itself")

    def probe_data_channel(self):
        """The data channel sub-checks, one message at a time, the empty string last: webrtcbin
        1.22 fails its sctpenc with "Could not write to resource" on an empty string (seen here),
        a pipeline error that is the probe's, not the test's (whose echo already came back)."""
        limit = min(3.0, self.deadline - time.monotonic() - 0.5)
        if limit < 0.5:
            return
        stack_limit = webrtcbin_object(self.webrtc, "sctp-transport").get_property("max-message-size")
        probes = subchecks.data_channel_probes(self.offer_sdp, self.answer_sdp, stack_limit or None)
        order = ["dc-binary", "max-message-size", "dc-empty-binary", "dc-empty-string"]
        probes.sort(key=lambda probe: order.index(probe[0]))
        unsent = {}
        started = time.monotonic()
        with self.changed:
            self.probing = True
        try:
            for name, message, _ in probes:
                before = len(self.rest)
                try:
                    if isinstance(message, str):
                        self.channel.send_string(message)
                    else:
                        self.channel.send_data(GLib.Bytes.new(message))
                except Exception as error:
                    unsent[name] = str(error) or repr(error)
                    continue
                each = max(0.1, min(1.0, started + limit - time.monotonic()))
                self.wait_for("a sub-check's echo", lambda: len(self.rest) > before or self.probe_error is not None, each)
                with self.changed:
                    if self.probe_error is not None:
                        unsent[name] = f"webrtcbin failed sending it: {self.probe_error}"
                        break
        finally:
            with self.changed:
                self.probing = False
        with self.changed:
            received = list(self.rest)
        subchecks.judge_data_channel(probes, received, unsent, int((time.monotonic() - started) * 1000), int(limit * 1000))

    def next_echo(self, seconds, matches):
        found = threading.Event()
        box = []

        def listener(packet):
            if not found.is_set() and matches(packet):
                box.append(packet)
                found.set()

        with self.changed:
            self.echo_listeners.append(listener)
        try:
            found.wait(seconds)
            return box[0] if box else None
        finally:
            with self.changed:
                self.echo_listeners.remove(listener)

    def probe_media(self):
        video = subchecks.media_section(self.answer_sdp, "video")
        subchecks.report("nack", "n/a", "webrtcbin answers NACKs only with RTX (rtprtxsend), which this client does not offer: a packet held back could never be sent again")
        self.probe_pli(video)
        self.check_mid(video)

    def probe_pli(self, video):
        if not subchecks.negotiates_feedback(video, "VP8", "nack", "pli"):
            return subchecks.report("pli-keyframe", "n/a", "the answer does not negotiate a=rtcp-fb nack pli for VP8")
        # The first echo may be audio: give the video a moment to come.
        self.wait_for("echoed video", lambda: bool(self.samples), 2.0)
        if self.video_pad is None:
            return subchecks.report("pli-keyframe", "fail", "no echoed video within 2 s to ask a keyframe of")
        vp8 = {int(pt) for pt in subchecks.payload_types(video, "VP8")}
        keyframe = lambda p: len(p) > 12 and p[1] & 0x7F in vp8 and subchecks.is_vp8_keyframe_start(rtp_payload(p))  # noqa: E731
        # Our encoder re-encodes test patterns: a server's echo of them is not ours to match, so
        # the settle time of src/client/media-probes.ts always applies; then 400 ms after a keyframe.
        if self.first_echo_at is not None:
            time.sleep(max(0.0, 1.5 - (time.monotonic() - self.first_echo_at)))
        natural = self.next_echo(1.2, keyframe)
        if natural is not None:
            time.sleep(0.4)
        with self.changed:
            last = next((p for p in reversed(self.samples) if p[1] & 0x7F in vp8), None)
        if last is None:
            return subchecks.report("pli-keyframe", "fail", "no echoed VP8 to ask a keyframe of")
        echo_ssrc, echo_pt = int.from_bytes(last[8:12], "big"), last[1] & 0x7F
        # webrtcbin decides when the PLI leaves (early feedback, or with its next RTCP report,
        # RFC 4585 §3.5.2): we time the keyframe from when it left, seen on rtpsession's RTCP output.
        pli_left = threading.Event()
        left_at = []

        def on_rtcp(_pad, info):
            buffer = info.get_buffer()
            data = buffer.extract_dup(0, buffer.get_size())
            offset = 0
            while offset + 4 <= len(data):
                if data[offset + 1] == 206 and data[offset] & 0x1F == 1 and not pli_left.is_set():
                    left_at.append(time.monotonic())
                    pli_left.set()
                offset += (int.from_bytes(data[offset + 2 : offset + 4], "big") + 1) * 4
            return Gst.PadProbeReturn.OK

        rtcp_pads = [e.get_static_pad("send_rtcp_src") for e in self._elements("rtpsession")]
        probes = [(pad, pad.add_probe(Gst.PadProbeType.BUFFER, on_rtcp)) for pad in rtcp_pads if pad is not None]
        keyframes = []

        def listener(packet):
            if keyframe(packet):
                keyframes.append(time.monotonic())

        with self.changed:
            self.echo_listeners.append(listener)
        requested_at = time.monotonic()
        try:
            # Upstream from the echo's src pad: rtpsession turns a GstForceKeyUnit that names the
            # stream ("ssrc", "payload": gstrtpsession.c, gst_rtp_session_event_recv_rtp_src) into
            # a PLI where the caps say rtcp-fb-nack-pli. We name it ourselves: nothing on the way
            # adds both fields.
            self.video_pad.send_event(Gst.Event.new_custom(Gst.EventType.CUSTOM_UPSTREAM, Gst.Structure.new_from_string(
                f"GstForceKeyUnit, all-headers=(boolean)false, ssrc=(uint){echo_ssrc}, payload=(uint){echo_pt}")))
            sent = pli_left.wait(4.0)
            if sent:
                end = left_at[0] + 0.5
                while time.monotonic() < end and not any(t >= left_at[0] for t in keyframes):
                    time.sleep(0.01)
        finally:
            with self.changed:
                self.echo_listeners.remove(listener)
            for pad, probe in probes:
                pad.remove_probe(probe)
        context = "sent 400 ms after an echoed keyframe" if natural is not None else "no echoed keyframe within 1200 ms before it"
        if not sent:
            return subchecks.report("pli-keyframe", "n/a", f"webrtcbin sent no PLI within 4 s of the request about SSRC {echo_ssrc} ({context})")
        delay = int((left_at[0] - requested_at) * 1000)
        back = next((t for t in keyframes if t >= left_at[0]), None)
        how = f"{context}; webrtcbin sent the PLI {delay} ms after we asked"
        if back is not None:
            subchecks.report("pli-keyframe", "pass", f"a keyframe came back {int((back - left_at[0]) * 1000)} ms after the PLI about SSRC {echo_ssrc} left ({how})")
        else:
            subchecks.report("pli-keyframe", "fail", f"no keyframe within 500 ms of the PLI about SSRC {echo_ssrc} leaving ({how})")

    def check_mid(self, video):
        ext = subchecks.extension_id(video, subchecks.MID_URI)
        if ext == 0:
            return subchecks.report("mid-extension", "n/a", f"the answer negotiates no {subchecks.MID_URI} (webrtcbin offers none unless the payloader's caps ask)")
        mid = (video["mid"] or "").encode()
        with self.changed:
            packets = list(self.samples)
        values = [rtp_extension(p, ext) for p in packets]
        carrying = sum(1 for v in values if v == mid)
        wrong = sorted({repr(v) for v in values if v not in (mid, None)})
        without = sum(1 for v in values if v is None)
        detail = f"video: {carrying} of {len(packets)} echoed packets carry mid {mid.decode()!r} (id {ext})" + "".join(f", some with mid {w}" for w in wrong) + (f", {without} without it" if without else "")
        subchecks.report("mid-extension", "pass" if carrying and not wrong else "fail", detail)

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


def rtp_payload(packet):
    """The payload of an RTP packet, past its CSRCs and header extension (RFC 3550 §5.1)."""
    offset = 12 + (packet[0] & 0x0F) * 4
    if packet[0] & 0x10 and len(packet) >= offset + 4:
        offset += 4 + int.from_bytes(packet[offset + 2 : offset + 4], "big") * 4
    return packet[offset:]


def rtp_extension(packet, ext_id):
    """The value of one-byte (0xBEDE) or two-byte (0x100X) header extension ext_id, if present (RFC 8285)."""
    if len(packet) < 12 or not packet[0] & 0x10:
        return None
    start = 12 + (packet[0] & 0x0F) * 4
    if len(packet) < start + 4:
        return None
    profile = int.from_bytes(packet[start : start + 2], "big")
    end = start + 4 + int.from_bytes(packet[start + 2 : start + 4], "big") * 4
    at = start + 4
    while at < min(end, len(packet)):
        if profile == 0xBEDE:
            if packet[at] == 0:
                at += 1
                continue
            eid, length = packet[at] >> 4, (packet[at] & 0x0F) + 1
            if eid == 15:
                return None
            value, at = packet[at + 1 : at + 1 + length], at + 1 + length
        elif profile & 0xFFF0 == 0x1000:
            if packet[at] == 0:
                at += 1
                continue
            eid, length = packet[at], packet[at + 1]
            value, at = packet[at + 2 : at + 2 + length], at + 2 + length
        else:
            return None
        if eid == ext_id:
            return bytes(value)
    return None


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
    if opts.test not in (0, 1):
        # 127: a test this client does not run (the QUIC interop runner's convention), not a failure.
        log(f"error: unsupported: test type {opts.test} is not one this client runs (0, 1)")
        return 127
    if opts.test == 1 and not (Gst.ElementFactory.find("sctpenc") and Gst.ElementFactory.find("sctpdec")):
        log("error: unsupported: this GStreamer has no sctpenc/sctpdec (gst-plugins-bad sctp): webrtcbin opens no data channels")
        return 127
    if is_loopback_url(opts.url):
        keep_ice_on_loopback()
    watch = Stopwatch()
    # Whatever hangs (a stuck state change, a blocked socket), we still exit 1.
    watchdog = threading.Timer(opts.timeout + CLOSE_SECONDS + 1.0, _watchdog, args=(opts.timeout,))
    watchdog.daemon = True
    watchdog.start()
    client = None
    code = 1
    outcome = None
    try:
        client = EchoClient(opts, watch)
        client.run()
        outcome = f"ok test {opts.test}"
        code = 0
    except Failure as error:
        outcome = f"error: {error}"
    except Exception as error:  # keep the one-line contract even for bugs
        outcome = f"error: internal: {error!r}"
    if client is not None:
        try:
            client.report_transport_checks()
        except Exception as error:  # a sub-check must never change the outcome
            log(f"warning: transport sub-checks failed: {error!r}")
    if client is not None and not client.close():
        log("warning: pipeline did not stop in time")
    log(outcome)  # the last line, as the contract wants
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
