"""Sub-checks of the Python clients (aiortc, GStreamer): one "check <name> <pass|fail|n/a>
<detail>" line each on stderr, the protocol of interop/peers/README.md (the names and meaning of
src/client/sub-checks.ts), and the SDP readings and data channel probes they share. Plain
Python, no dependencies: each client adds what its stack lets it see."""

import os
import sys

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
MESSAGE_SIZE_CAP = 256 * 1024


def report(name: str, status: str, detail: str) -> None:
    print(f"check {name} {status} {' '.join(detail.split())}", file=sys.stderr, flush=True)


def sections(sdp: str):
    """(session attributes, [{kind, mid, attrs}]) of an SDP."""
    session, media = [], []
    for line in sdp.replace("\r\n", "\n").split("\n"):
        if line.startswith("m="):
            media.append({"kind": line[2:].split(" ")[0], "mid": None, "attrs": []})
        elif line.startswith("a="):
            attr = line[2:]
            if not media:
                session.append(attr)
                continue
            media[-1]["attrs"].append(attr)
            if attr.startswith("mid:"):
                media[-1]["mid"] = attr[4:]
    return session, media


def attr_value(attrs, name):
    for attr in attrs:
        if attr.startswith(name + ":"):
            return attr[len(name) + 1 :].strip()
    return None


def setup_of(sdp: str):
    session, media = sections(sdp)
    for section in media:
        value = attr_value(section["attrs"], "setup")
        if value is not None:
            return value
    return attr_value(session, "setup")


def media_section(sdp: str, kind: str):
    return next((s for s in sections(sdp)[1] if s["kind"] == kind), None)


def extension_id(section, uri: str) -> int:
    for attr in (section or {}).get("attrs", []):
        if attr.startswith("extmap:"):
            fields = attr[7:].split()
            if len(fields) >= 2 and fields[1] == uri:
                return int(fields[0].split("/")[0])
    return 0


def payload_types(section, codec: str):
    found = set()
    for attr in (section or {}).get("attrs", []):
        if attr.startswith("rtpmap:"):
            fields = attr[7:].split()
            if len(fields) == 2 and fields[1].split("/")[0].lower() == codec.lower():
                found.add(fields[0])
    return found


def negotiates_feedback(section, codec: str, typ: str, param: str = "") -> bool:
    payloads = payload_types(section, codec)
    if not payloads:
        return False
    for attr in (section or {}).get("attrs", []):
        if attr.startswith("rtcp-fb:"):
            fields = attr[8:].split()
            if len(fields) >= 2 and (fields[0] == "*" or fields[0] in payloads) and fields[1] == typ:
                if (fields[2] if len(fields) > 2 else "") == param:
                    return True
    return False


def max_message_size(sdp: str):
    """(size, declared) of the data channel section: 64 KiB without the attribute (RFC 8841
    §6.1), 0 for any size; None without a data channel section."""
    for section in sections(sdp)[1]:
        if section["kind"] == "application":
            value = attr_value(section["attrs"], "max-message-size")
            return (int(value), True) if value is not None and value.isdigit() else (65536, False)
    return None


def check_dtls_role(offer: str, answer: str, ice_connected: bool, connected: bool, stack_role, stack: str) -> None:
    """offer actpass, answer active: the server is the DTLS client; passive: the server (RFC 8842 §5)."""
    offered, answered = setup_of(offer), setup_of(answer)
    sdp = f"offer {offered or 'without a=setup'}, answer {answered or 'without a=setup'}"
    if answered is None:
        return report("dtls-role", "fail", f"the answer has no a=setup ({sdp})")
    if answered == "actpass":
        return report("dtls-role", "fail", f"the answer says actpass, which only an offer may (RFC 8842 §5.3): nobody is the DTLS client ({sdp})")
    if answered not in ("active", "passive"):
        return report("dtls-role", "fail", f"the answer's a=setup:{answered} is not a role ({sdp})")
    if offered not in (None, "actpass") and offered == answered:
        return report("dtls-role", "fail", f"both sides {answered} ({sdp})")
    ours = "server" if answered == "active" else "client"
    theirs = "client" if ours == "server" else "server"
    known = stack_role in ("client", "server")
    if known and stack_role != ours:
        return report("dtls-role", "fail", f"the SDP makes us the DTLS {ours} ({sdp}) but {stack} took {stack_role}")
    taken = f"we are the DTLS {ours}, the server the DTLS {theirs} ({sdp}; " + (f"{stack} says {stack_role})" if known else f"{stack} has not said)")
    if connected:
        report("dtls-role", "pass", taken)
    elif ice_connected:
        report("dtls-role", "fail", f"ICE connected but the DTLS handshake did not complete: {taken}")
    else:
        report("dtls-role", "n/a", f"not connected (ICE did not connect either): {taken}")


def message_size_to_send(offer: str, answer: str, stack_limit):
    limits = []
    for who, sdp in (("answer", answer), ("offer", offer)):
        found = max_message_size(sdp)
        if found is not None:
            size, declared = found
            limits.append((who if declared else f"{who} (none: 64 KiB)", size))
    if stack_limit is not None:
        limits.append(("our stack", stack_limit))
    limits.append(("cap", MESSAGE_SIZE_CAP))
    size = min(n for _, n in limits if n > 0)
    return size, "the smallest of: " + ", ".join(f"{who} {n if n else 'any'}" for who, n in limits)


def data_channel_probes(offer: str, answer: str, stack_limit=None):
    """(name, message, description) of the sub-checks sent after the string echo."""
    size, why = message_size_to_send(offer, answer, stack_limit)
    return [
        ("dc-binary", bytes(range(256)), "a 256-byte binary message (every byte value)"),
        ("dc-empty-string", "", "an empty string"),
        ("dc-empty-binary", b"", "an empty binary message"),
        ("max-message-size", os.urandom(size), f"a {size}-byte binary message ({why})"),
    ]


def judge_data_channel(probes, received, unsent, elapsed_ms: int, limit_ms: int) -> None:
    """Exact matches first, then for what did not come back the closest thing that did."""
    left = list(received)
    matched = set()
    for name, message, _ in probes:
        for i, got in enumerate(left):
            if name not in unsent and type(got) is type(message) and got == message:
                matched.add(name)
                del left[i]
                break
    for name, message, describe in probes:
        if name in unsent:
            report(name, "fail", f"{describe} could not be sent: {unsent[name]}")
        elif name in matched:
            report(name, "pass", f"{describe} came back the same (the probes took {elapsed_ms} ms)")
        else:
            index = next((i for i, got in enumerate(left) if len(got) == len(message)), None)
            if index is None:
                index = next((i for i, got in enumerate(left) if type(got) is type(message)), None)
            if index is None:
                report(name, "fail", f"{describe} did not come back within {limit_ms} ms")
                continue
            got = left.pop(index)
            shown = f"text {got[:60]!r}" if isinstance(got, str) else f"binary of {len(got)} bytes"
            report(name, "fail", f"{describe} came back as {shown}")


def is_vp8_keyframe_start(payload: bytes) -> bool:
    """The first packet of a VP8 key frame (RFC 7741 §4.2-4.3: S=1, PID=0, then P=0)."""
    if not payload or not payload[0] & 0x10 or payload[0] & 0x07:
        return False
    offset = 1
    if payload[0] & 0x80:
        if len(payload) < 2:
            return False
        ext, offset = payload[1], 2
        if ext & 0x80:
            if len(payload) <= offset:
                return False
            offset += 2 if payload[offset] & 0x80 else 1
        if ext & 0x40:
            offset += 1
        if ext & 0x30:
            offset += 1
    return len(payload) > offset and payload[offset] & 0x01 == 0
