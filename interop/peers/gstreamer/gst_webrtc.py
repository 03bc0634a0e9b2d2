"""Small helpers around webrtcbin shared by the GStreamer server and client.

webrtcbin runs its own task thread, so everything here is written to be called
from plain Python threads: we block on threading.Event with deadlines instead of
running a GLib main loop.
"""

import ctypes
import ctypes.util
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from loopback import is_loopback_host, is_loopback_url  # noqa: E402,F401  (the peers import them from here)

try:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstSdp", "1.0")
    gi.require_version("GstWebRTC", "1.0")
    from gi.repository import GLib, GObject, Gst, GstSdp, GstWebRTC  # noqa: F401
except (ImportError, ValueError) as error:  # missing python3-gst-1.0 or gir1.2-gst-plugins-bad-1.0
    sys.stderr.write(
        f"gstreamer bindings missing ({error}); run interop/setup/gstreamer.sh\n"
    )
    sys.exit(1)

Gst.init(None)


def _quiet_echo_loop_warning(domain, level, message, *_user_data):
    # The echo feeds webrtcbin's own output back into it, a loop by design;
    # GstBin warns about it on every state change. Other warnings pass.
    if "loop detected in the graph" not in message:
        GLib.log_default_handler(domain, level, message, None)


GLib.log_set_handler("GStreamer", GLib.LogLevelFlags.LEVEL_WARNING, _quiet_echo_loop_warning, None)
_gobject = ctypes.CDLL(ctypes.util.find_library("gobject-2.0") or "libgobject-2.0.so.0")

# How long we wait for libnice to finish gathering before we send what we have.
# Host candidates only (no STUN/TURN), so gathering is normally done in a few ms.
GATHER_LIMIT_SECONDS = 3.0


JITTER_MS = 20


# Set by keep_ice_on_loopback(): every webrtcbin made afterwards gathers loopback only.
_loopback_only = False


def keep_ice_on_loopback():
    """Gather 127.0.0.1 and ::1 only from now on: the other peer is on this machine, reached
    on loopback, and this machine's other addresses must carry none of a test's packets."""
    global _loopback_only
    _loopback_only = True


def _add_local_addresses(agent, addresses):
    """nice_agent_add_local_address: with any set, libnice gathers those alone instead of
    every interface's. Through ctypes: Debian ships no Nice typelib."""
    nice = ctypes.CDLL(ctypes.util.find_library("nice") or "libnice.so.10")
    nice.nice_address_new.restype = ctypes.c_void_p
    nice.nice_address_set_from_string.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    nice.nice_address_set_from_string.restype = ctypes.c_int
    nice.nice_agent_add_local_address.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    nice.nice_agent_add_local_address.restype = ctypes.c_int
    nice.nice_address_free.argtypes = [ctypes.c_void_p]
    ctypes.pythonapi.PyCapsule_GetPointer.restype = ctypes.c_void_p
    ctypes.pythonapi.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    pointer = ctypes.pythonapi.PyCapsule_GetPointer(agent.__gpointer__, None)
    for text in addresses:
        address = nice.nice_address_new()
        try:
            if not nice.nice_address_set_from_string(address, text.encode()) or not nice.nice_agent_add_local_address(pointer, address):
                raise WebRTCError(f"libnice did not take the local address {text}")
        finally:
            nice.nice_address_free(address)


class WebRTCError(Exception):
    """A negotiation step failed; the message is a one-line reason."""


def make_webrtcbin(name="webrtc"):
    """webrtcbin with settings that suit a one-machine, no-STUN echo test."""
    webrtc = Gst.ElementFactory.make("webrtcbin", name)
    if webrtc is None:
        raise WebRTCError("webrtcbin element missing (gstreamer1.0-plugins-bad, gstreamer1.0-nice)")
    webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
    # The jitter buffer holds packets this long (default 200 ms); an echo over
    # one machine needs little reordering room and should come back quickly.
    webrtc.set_property("latency", JITTER_MS)
    agent = webrtcbin_object(webrtc, "ice-agent").get_property("agent")
    # UPnP discovery would only add delay on a machine without a router to ask.
    agent.set_property("upnp", False)
    # TCP candidates are ignored by most peers and only lengthen the SDP.
    agent.set_property("ice-tcp", False)
    # Keepalives that expect a reply let a server notice a client that vanished
    # without a DTLS close, so its session can be torn down. (consent-freshness
    # would be the RFC 7675 way, but libnice only takes it at construction.)
    agent.set_property("keepalive-conncheck", True)
    if _loopback_only:
        _add_local_addresses(agent, ["127.0.0.1", "::1"])
    return webrtc


def webrtcbin_object(webrtc, prop):
    """An object property of webrtcbin ("ice-agent", "sctp-transport"), safe to
    hold from Python.

    webrtcbin 1.22 keeps these as floating references; PyGObject sinks one on
    first access and then treats webrtcbin's only reference as its own, so
    dropping the Python wrapper frees the object under webrtcbin (a crash, or a
    data channel that never opens). When we see that single reference we add
    the one webrtcbin is missing; later reads see two and add nothing."""
    value = webrtc.get_property(prop)
    if value is not None and value.ref_count == 1:
        ctypes.pythonapi.PyCapsule_GetPointer.restype = ctypes.c_void_p
        ctypes.pythonapi.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
        pointer = ctypes.pythonapi.PyCapsule_GetPointer(value.__gpointer__, None)
        _gobject.g_object_ref.argtypes = [ctypes.c_void_p]
        _gobject.g_object_ref.restype = ctypes.c_void_p
        _gobject.g_object_ref(pointer)
    return value


def run_promise(webrtc, signal, *args, field=None, timeout=5.0):
    """Emit a promise-taking action signal on webrtcbin, wait for the reply and
    return reply[field] (or None).

    The reply belongs to the promise, so we read the field while the promise is
    alive. We wait in a helper thread because Gst.Promise.wait has no timeout
    and Python change-func callbacks crash PyGObject 3.42 here."""
    promise = Gst.Promise.new()
    webrtc.emit(signal, *args, promise)
    outcome = {}

    def wait():
        outcome["result"] = promise.wait()

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    waiter.join(timeout)
    if waiter.is_alive():
        promise.interrupt()
        raise WebRTCError(f"{signal} timed out")
    if outcome["result"] != Gst.PromiseResult.REPLIED:
        raise WebRTCError(f"{signal} was not replied")
    reply = promise.get_reply()
    if reply is not None and reply.has_field("error"):
        raise WebRTCError(f"{signal} failed: {reply.get_value('error').message}")
    if field is None:
        return None
    if reply is None or not reply.has_field(field):
        raise WebRTCError(f"{signal} gave no {field}")
    value = reply.get_value(field)
    # PyGObject hands out the boxed value without copying it; copy it before
    # the promise (and the reply it owns) goes away.
    return value.copy() if hasattr(value, "copy") else value


def sdp_text(webrtc, prop="local-description"):
    """A description property's SDP text. Keeps the description object alive
    while reading its SDP (a chained expression would read freed memory)."""
    desc = webrtc.get_property(prop)
    if desc is None:
        return None
    message = desc.sdp
    return message.as_text()


def parse_sdp(text):
    result, message = GstSdp.SDPMessage.new_from_text(text)
    if result != GstSdp.SDPResult.OK:
        raise WebRTCError("SDP does not parse")
    return message


def description(kind, text):
    sdp_type = {
        "offer": GstWebRTC.WebRTCSDPType.OFFER,
        "answer": GstWebRTC.WebRTCSDPType.ANSWER,
    }[kind]
    return GstWebRTC.WebRTCSessionDescription.new(sdp_type, parse_sdp(text))


class CandidateGatherer:
    """Collects local candidates and signals when gathering is complete.

    Connect before setting the local description so no candidate is missed.
    """

    def __init__(self, webrtc):
        self.webrtc = webrtc
        self.candidates = []  # (mline index, "candidate:..." line)
        self.complete = threading.Event()
        self._lock = threading.Lock()
        self._handlers = [
            webrtc.connect("on-ice-candidate", self._on_candidate),
            webrtc.connect("notify::ice-gathering-state", self._on_state),
        ]

    def detach(self):
        for handler in self._handlers:
            self.webrtc.disconnect(handler)
        self._handlers = []

    def _on_candidate(self, _webrtc, mline, candidate):
        with self._lock:
            self.candidates.append((mline, candidate))

    def _on_state(self, webrtc, _pspec):
        if webrtc.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            self.complete.set()

    def local_sdp(self, limit=GATHER_LIMIT_SECONDS):
        """The local description's text once gathering ends (or the limit passes),
        with every gathered candidate inside it."""
        self.complete.wait(limit)
        # Give late signals from libnice's thread a moment to land.
        time.sleep(0.02)
        text = sdp_text(self.webrtc)
        with self._lock:
            candidates = list(self.candidates)
        return add_missing_candidates(text, candidates)


def add_missing_candidates(sdp_text, candidates):
    """Put each gathered candidate into its m-section unless webrtcbin already did,
    and mark the end of candidates, so the peer needs no trickle.

    With max-bundle, webrtcbin writes bundled m-sections as "m=video 0 ..." plus
    a=bundle-only (RFC 8843). Several stacks read port 0 as "rejected", so we
    send those sections with the usual port 9 instead, as browsers do."""
    lines = sdp_text.replace("\r\n", "\n").rstrip("\n").split("\n")
    sections = [[]]
    for line in lines:
        if line.startswith("m="):
            sections.append([])
        sections[-1].append(line)
    for mline, candidate in candidates:
        index = mline + 1
        if index >= len(sections):
            continue
        wanted = "a=" + candidate.strip()
        if wanted not in sections[index]:
            sections[index].append(wanted)
    for section in sections[1:]:
        if "a=bundle-only" in section:
            section[0] = re.sub(r"^(m=\S+) 0 ", r"\1 9 ", section[0])
            section.remove("a=bundle-only")
        if "a=end-of-candidates" not in section:
            section.append("a=end-of-candidates")
    return "\r\n".join(line for section in sections for line in section) + "\r\n"


def has_candidates(sdp_text):
    return re.search(r"^a=candidate:", sdp_text, re.M) is not None


def watch_errors(pipeline, on_error, stopped):
    """Call on_error(reason) for each ERROR on the pipeline's bus until the
    event `stopped` is set. Other messages are popped and dropped.

    A thread polls the bus because a Python sync handler (PyGObject 3.42)
    leaks every message it sees, and with them the pipeline and its sockets."""

    def run():
        bus = pipeline.get_bus()
        while not stopped.is_set():
            message = bus.timed_pop_filtered(100 * Gst.MSECOND, Gst.MessageType.ERROR)
            if message is not None:
                error, _debug = message.parse_error()
                on_error(f"pipeline error: {error.message}")

    thread = threading.Thread(target=run, name="bus-watch", daemon=True)
    thread.start()
    return thread


def stop_pipeline(pipeline, limit=3.0, first=None):
    """Set a pipeline to NULL without letting a stuck element hang the caller.

    `first` (webrtcbin) is stopped before the rest. In the echo server the media
    runs webrtcbin -> depay/pay -> webrtcbin, a loop, so the pipeline cannot order
    its sinks before their sources: it may deactivate an echo element while that
    element's thread is pushing into webrtcbin's network sink, which (already
    PAUSED) waits there for a preroll that never comes. Stopping webrtcbin alone
    first stops its sinks first, and every push into it then returns at once."""

    def stop():
        if first is not None:
            first.set_state(Gst.State.NULL)
        pipeline.set_state(Gst.State.NULL)

    worker = threading.Thread(target=stop, daemon=True)
    worker.start()
    worker.join(limit)
    return not worker.is_alive()
