"""One server-side peer connection: a pipeline with one webrtcbin that echoes
every incoming RTP stream and every data channel message back to the client."""

import itertools
import sys
import threading
import time

from echo_codecs import build_echo_chain, choose_codec
from gst_webrtc import (
    CandidateGatherer,
    Gst,
    GstWebRTC,
    WebRTCError,
    description,
    make_webrtcbin,
    parse_sdp,
    run_promise,
    stop_pipeline,
    watch_errors,
)

# A client that never completes ICE/DTLS does not keep its pipeline alive.
CONNECT_LIMIT_SECONDS = 30.0
# ICE "disconnected" may recover; only give up on it after this long.
DISCONNECTED_GRACE_SECONDS = 5.0
# webrtcbin 1.22 sends no DTLS close_notify and libnice has no consent
# freshness here, so a client that closes looks alive for ~50 s (until the ICE
# keepalives fail). A connected session that has received no RTP for this long
# and has no open data channel is over.
MEDIA_IDLE_SECONDS = 5.0

_ids = itertools.count(1)
ConnectionState = GstWebRTC.WebRTCPeerConnectionState
IceState = GstWebRTC.WebRTCICEConnectionState


def log(message):
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


class EchoSession:
    def __init__(self, on_closed):
        self.id = next(_ids)
        self._on_closed = on_closed
        self._closed = False
        self._lock = threading.Lock()
        # (media, encoding name, payload type) -> sink pads of echo chains for it
        self._echo_inputs = {}
        self._channels = []
        self._handlers = []
        self._probes = []
        self._stream_of = {}  # src pad -> (the client's SSRC, payload type) seen on it
        self._timers = []
        self._last_media = 0.0  # monotonic time of the last incoming RTP packet
        self._started = time.monotonic()  # the offer's arrival
        self._connected_logged = False
        self.pipeline = Gst.Pipeline.new(f"echo-session-{self.id}")
        self.webrtc = make_webrtcbin()
        self.pipeline.add(self.webrtc)
        self._gatherer = CandidateGatherer(self.webrtc)
        self._connect(self.webrtc, "pad-added", self._on_pad_added)
        self._connect(self.webrtc, "on-data-channel", self._on_data_channel)
        self._connect(self.webrtc, "notify::connection-state", self._on_connection_state)
        self._connect(self.webrtc, "notify::ice-connection-state", self._on_ice_state)
        self._stopped = threading.Event()
        watch_errors(self.pipeline, self.close_soon, self._stopped)

    def _connect(self, target, signal, handler):
        self._handlers.append((target, target.connect(signal, handler)))

    # --- negotiation -------------------------------------------------------

    def answer(self, offer_sdp):
        """Apply the client's offer and return our answer with all candidates."""
        offer = parse_sdp(offer_sdp)
        self._prepare_echo_chains(offer)
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            raise WebRTCError("pipeline would not start")
        run_promise(self.webrtc, "set-remote-description", description("offer", offer_sdp))
        answer = run_promise(self.webrtc, "create-answer", None, field="answer")
        run_promise(self.webrtc, "set-local-description", answer)
        self._later(CONNECT_LIMIT_SECONDS, self._close_unless_connected)
        answer_sdp = self._gatherer.local_sdp()
        log(f"session {self.id} answer_ms {self._elapsed_ms()}")
        return answer_sdp

    def _elapsed_ms(self):
        return int((time.monotonic() - self._started) * 1000)

    def _prepare_echo_chains(self, offer):
        """For each audio/video m-section with a codec we can echo, a sendrecv
        transceiver fed by a depay/pay chain. Naming the sink pad sink_<mline>
        ties the transceiver to that m-section before the offer is applied."""
        template = self.webrtc.get_pad_template("sink_%u")
        for mline in range(offer.medias_len()):
            media = offer.get_media(mline)
            if media.get_media() not in ("audio", "video") or _rejected(media):
                continue
            caps = choose_codec(media)
            if caps is None:
                log(f"session {self.id}: m-line {mline}: no codec we can echo")
                continue
            sink = self.webrtc.request_pad(template, f"sink_{mline}", caps)
            if sink is None:
                raise WebRTCError(f"webrtcbin refused a sink pad for m-line {mline}")
            transceiver = sink.get_property("transceiver")
            transceiver.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDRECV)
            transceiver.set_property("codec-preferences", caps)
            chain_input, chain_output = build_echo_chain(self.pipeline, caps)
            chain_output.link(sink)
            self._echo_inputs.setdefault(_stream_key(caps), []).append(chain_input)

    # --- media and data ----------------------------------------------------

    def _on_pad_added(self, _webrtc, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        # Matched by caps, not by the pad's transceiver: webrtcbin 1.22 can
        # report the wrong transceiver details on bundled src pads.
        caps = pad.get_current_caps()
        key = _stream_key(caps) if caps is not None else None
        # Two m-sections with the same codec and payload type each get one of
        # the chains; which stream goes back on which m-section may swap.
        with self._lock:  # src pads may appear on two streaming threads at once
            free = [chain for chain in self._echo_inputs.get(key, []) if not chain.is_linked()]
            target = free[0] if free else None
            if target is None:
                log(f"session {self.id}: no echo for {key}; discarding it")
                target = self._discard_pad()
            linked = pad.link(target) == Gst.PadLinkReturn.OK
        if not linked:
            log(f"session {self.id}: could not link the echo of {key}")
        self._probes.append((pad, pad.add_probe(Gst.PadProbeType.BUFFER, self._saw_media)))
        # The echo's keyframe requests back to the client (see _name_key_unit_request).
        self._probes.append((pad, pad.add_probe(Gst.PadProbeType.EVENT_UPSTREAM, self._name_key_unit_request)))

    def _saw_media(self, pad, info):
        self._last_media = time.monotonic()
        buffer = info.get_buffer()
        if buffer is not None and buffer.get_size() >= 12:
            header = buffer.extract_dup(0, 12)
            self._stream_of[pad] = (int.from_bytes(header[8:12], "big"), header[1] & 0x7F)
        return Gst.PadProbeReturn.OK

    def _name_key_unit_request(self, pad, info):
        """A PLI/FIR about our echo comes out of the sending rtpsession as an upstream
        GstForceKeyUnit, through pay and depay to this src pad, without "ssrc" or "payload";
        the receiving rtpsession turns one into a PLI to the client only when it names both
        (gstrtpsession.c, gst_rtp_session_event_recv_rtp_src), so we name the client's stream."""
        event = info.get_event()
        structure = event.get_structure() if event is not None else None
        if event.type != Gst.EventType.CUSTOM_UPSTREAM or structure is None or not structure.has_name("GstForceKeyUnit"):
            return Gst.PadProbeReturn.OK
        if structure.has_field("ssrc") and structure.has_field("payload"):
            return Gst.PadProbeReturn.OK
        stream = self._stream_of.get(pad)
        if stream is None:
            return Gst.PadProbeReturn.OK
        named = Gst.Event.new_custom(Gst.EventType.CUSTOM_UPSTREAM, Gst.Structure.new_from_string(
            f"GstForceKeyUnit, all-headers=(boolean)false, ssrc=(uint){stream[0]}, payload=(uint){stream[1]}"))
        pad.send_event(named)
        return Gst.PadProbeReturn.DROP

    def _check_idle(self):
        channel_open = any(
            c.get_property("ready-state") == GstWebRTC.WebRTCDataChannelState.OPEN for c in list(self._channels)
        )
        if not channel_open and time.monotonic() - self._last_media > MEDIA_IDLE_SECONDS:
            self.close(f"no media for {MEDIA_IDLE_SECONDS:g} s and no open data channel")
        else:
            self._later(1.0, self._check_idle)

    def _discard_pad(self):
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("async", False)
        sink.set_property("sync", False)
        self.pipeline.add(sink)
        sink.sync_state_with_parent()
        return sink.get_static_pad("sink")

    def _on_data_channel(self, _webrtc, channel):
        self._channels.append(channel)
        channel.connect("on-message-string", _echo_string)
        channel.connect("on-message-data", _echo_data)
        self._connect(channel, "on-close", lambda _c: self._on_channel_closed())

    def _on_channel_closed(self):
        # A data-only session is over once its channels are gone.
        if not self._echo_inputs and all(
            c.get_property("ready-state") == GstWebRTC.WebRTCDataChannelState.CLOSED
            for c in self._channels
        ):
            self.close_soon("data channels closed")

    # --- lifetime ----------------------------------------------------------

    def _on_connection_state(self, webrtc, _pspec):
        state = webrtc.get_property("connection-state")
        if state == ConnectionState.CONNECTED and not self._connected_logged:
            self._connected_logged = True
            log(f"session {self.id} connected_ms {self._elapsed_ms()}")
            self._last_media = time.monotonic()  # the idle clock starts now
            self._later(1.0, self._check_idle)
        if state in (ConnectionState.FAILED, ConnectionState.CLOSED):
            self.close_soon(f"connection {state.value_nick}")

    def _on_ice_state(self, webrtc, _pspec):
        state = webrtc.get_property("ice-connection-state")
        if state in (IceState.FAILED, IceState.CLOSED):
            self.close_soon(f"ice {state.value_nick}")
        elif state == IceState.DISCONNECTED:
            self._later(DISCONNECTED_GRACE_SECONDS, self._close_if_still_disconnected)

    def _close_if_still_disconnected(self):
        if self.webrtc.get_property("ice-connection-state") == IceState.DISCONNECTED:
            self.close("ice stayed disconnected")

    def _close_unless_connected(self):
        if self.webrtc.get_property("connection-state") != ConnectionState.CONNECTED:
            self.close("never connected")

    def _later(self, seconds, action):
        timer = threading.Timer(seconds, action)
        timer.daemon = True
        with self._lock:
            if self._closed:
                return
            self._timers.append(timer)
        timer.start()

    def close_soon(self, reason):
        """Close from a thread of our own: webrtcbin's signals fire on its
        streaming threads, which must not wait for the pipeline to stop."""
        threading.Thread(target=self.close, args=(reason,), daemon=True).start()

    def close(self, reason="closed"):
        with self._lock:
            if self._closed:
                return
            self._closed = True
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()
        stop_started = time.monotonic()
        stopped = stop_pipeline(self.pipeline, first=self.webrtc)
        stop_ms = int((time.monotonic() - stop_started) * 1000)
        for target, handler in self._handlers:
            target.disconnect(handler)
        self._handlers.clear()
        for pad, probe in self._probes:
            pad.remove_probe(probe)
        self._probes.clear()
        self._gatherer.detach()
        self._channels.clear()
        self._echo_inputs.clear()
        self._stopped.set()
        log(f"session {self.id} closed: {reason} (stop {stop_ms} ms" + (")" if stopped else ", timed out)"))
        self._on_closed(self)


def _stream_key(caps):
    structure = caps.get_structure(0)
    return (
        structure.get_string("media"),
        (structure.get_string("encoding-name") or "").upper(),
        structure.get_value("payload"),
    )


def _rejected(media):
    """Port 0 rejects an m-section unless it is bundle-only (RFC 8843)."""
    if media.get_port() != 0:
        return False
    keys = (media.get_attribute(i).key for i in range(media.attributes_len()))
    return "bundle-only" not in keys


def _echo_string(channel, text):
    channel.send_string(text)


def _echo_data(channel, data):
    channel.send_data(data)
