"""Which offered codecs the server can echo, and the RTP-level chain that echoes them.

The echo never decodes: a depayloader turns the client's RTP back into frames
and a payloader packs them again with our own SSRC and sequence numbers. Sending
the client's packets back untouched would reuse its SSRC, which rtpbin on both
sides would take for a collision.
"""

import random

from gst_webrtc import GObject, Gst

# encoding-name -> (depayloader, payloader, payloader properties)
ECHO_CHAINS = {
    "OPUS": ("rtpopusdepay", "rtpopuspay", {}),
    "PCMU": ("rtppcmudepay", "rtppcmupay", {}),
    "PCMA": ("rtppcmadepay", "rtppcmapay", {}),
    "VP8": ("rtpvp8depay", "rtpvp8pay", {"picture-id-mode": 2}),
    "VP9": ("rtpvp9depay", "rtpvp9pay", {"picture-id-mode": 2}),
    "H264": ("rtph264depay", "rtph264pay", {"config-interval": -1, "aggregate-mode": 1}),
}

# Feedback we answer with; transport-cc and REMB would promise congestion
# control that a plain echo does not do.
KEPT_FEEDBACK = ("rtcp-fb-nack", "rtcp-fb-nack-pli", "rtcp-fb-ccm-fir")


def _offered_caps(media):
    """Caps of every payload type in one offered m-section, in the offerer's order."""
    caps_list = []
    for index in range(media.formats_len()):
        payload = media.get_format(index)
        if not payload.isdigit():
            continue
        caps = media.get_caps_from_media(int(payload))
        if caps is not None and caps.get_size() > 0:
            # A copy: the structure would die with its caps.
            caps_list.append(caps.get_structure(0).copy())
    return caps_list


def choose_codec(media):
    """The first codec of an offered m-section that we can echo, as the
    application/x-rtp caps we will answer with, or None.

    The caps carry the SSRC our echo will use, so that webrtcbin writes it into
    the answer (a=ssrc): without it, pion and libdatachannel cannot tell which
    m-section an incoming bundled stream belongs to (no MID header extension
    here) and drop the echo."""
    for structure in _offered_caps(media):
        name = (structure.get_string("encoding-name") or "").upper()
        if name not in ECHO_CHAINS:
            continue
        chosen = Gst.Structure.new_empty("application/x-rtp")
        for index in range(structure.n_fields()):
            field = structure.nth_field_name(index)
            if field.startswith("rtcp-fb-") and field not in KEPT_FEEDBACK:
                continue
            if field.startswith(("extmap-", "ssrc-", "a-")):
                continue
            chosen.set_value(field, structure.get_value(field))
        _set_ssrc(chosen, random.randint(1, 0xFFFFFFFF))
        caps = Gst.Caps.new_empty()
        caps.append_structure(chosen)
        return caps
    return None


def build_echo_chain(pipeline, caps):
    """depay ! pay ! capsfilter for the chosen codec, added to the pipeline.
    Returns (sink pad that takes the received RTP, src pad that feeds webrtcbin)."""
    structure = caps.get_structure(0)
    depay_name, pay_name, pay_props = ECHO_CHAINS[structure.get_string("encoding-name").upper()]
    depay = Gst.ElementFactory.make(depay_name)
    pay = Gst.ElementFactory.make(pay_name)
    if depay is None or pay is None:
        raise RuntimeError(f"missing GStreamer element {depay_name} or {pay_name}")
    pay.set_property("pt", structure.get_value("payload"))
    pay.set_property("ssrc", structure.get_value("ssrc"))
    pay.set_property("mtu", 1200)
    for key, value in pay_props.items():
        pay.set_property(key, value)
    # Fixes what webrtcbin sees on its sink pad to exactly what we answered.
    capsfilter = Gst.ElementFactory.make("capsfilter")
    capsfilter.set_property("caps", _payloader_caps(structure))
    queue = Gst.ElementFactory.make("queue")
    queue.set_property("leaky", 2)  # downstream: drop old data rather than block the receiver
    for element in (queue, depay, pay, capsfilter):
        pipeline.add(element)
        element.sync_state_with_parent()
    queue.link(depay)
    depay.link(pay)
    pay.link(capsfilter)
    return queue.get_static_pad("sink"), capsfilter.get_static_pad("src")


def _payloader_caps(structure):
    wanted = Gst.Structure.new_empty("application/x-rtp")
    for field in ("media", "encoding-name", "payload", "clock-rate"):
        wanted.set_value(field, structure.get_value(field))
    _set_ssrc(wanted, structure.get_value("ssrc"))
    caps = Gst.Caps.new_empty()
    caps.append_structure(wanted)
    return caps


def _set_ssrc(structure, ssrc):
    # Caps want ssrc as a guint; a plain Python int would become a gint and
    # no longer match webrtcbin's caps.
    structure.set_value("ssrc", GObject.Value(GObject.TYPE_UINT, ssrc))
