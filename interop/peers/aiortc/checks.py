"""What the aiortc client's sub-checks need of aiortc 1.4 itself: hooks into its own objects
that let the client see the SRTP profile OpenSSL chose and the remote SCTP INIT parameters.
The protocol and the SDP readings are shared with the GStreamer client: ../common/subchecks.py."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))

from subchecks import *  # noqa: E402,F401,F403
from subchecks import report  # noqa: E402

ZERO_CHECKSUM_ACCEPTABLE = 0x8001  # RFC 9653 §5.1


def srtp_profile(dtls) -> None:
    """The profile OpenSSL's DTLS-SRTP extension chose (SSL_get_selected_srtp_profile): aiortc
    1.4 offers SRTP_AES128_CM_SHA1_80 only (rtcdtlstransport.py), so another one would be news."""
    try:
        from OpenSSL._util import ffi, lib

        profile = lib.SSL_get_selected_srtp_profile(dtls.ssl._ssl)
        name = ffi.string(profile.name).decode() if profile != ffi.NULL else None
    except Exception as error:  # a pyOpenSSL without the binding, or no SSL object yet
        return report("srtp-profile", "n/a", f"OpenSSL's selected SRTP profile is not readable here: {error!r}")
    if name is None:
        report("srtp-profile", "fail", "the DTLS handshake chose no SRTP profile")
    elif "NULL" in name:
        report("srtp-profile", "fail", f"{name}: no encryption")
    else:
        report("srtp-profile", "pass", f"{name} (OpenSSL SSL_get_selected_srtp_profile)")


def watch_sctp_parameters(sctp):
    """aiortc reads the remote INIT (as server) or INIT-ACK (as client) parameters through
    RTCSctpTransport._get_extensions(params) (rtcsctptransport.py) and ignores the types it does
    not know, Zero Checksum Acceptable among them: a wrapper there sees them all."""
    seen = {}
    original = sctp._get_extensions

    def get_extensions(params):
        seen["types"] = [kind for kind, _ in params]
        return original(params)

    sctp._get_extensions = get_extensions
    return lambda: None if "types" not in seen else ZERO_CHECKSUM_ACCEPTABLE in seen["types"]


def check_zero_checksum(announced, opened: bool) -> None:
    if announced is None:
        return report("sctp-zero-checksum", "n/a", "no remote INIT or INIT-ACK seen")
    said = "the remote SCTP announced Zero Checksum Acceptable (0x8001), which aiortc ignores" if announced else "the remote SCTP did not announce zero checksum"
    if opened:
        report("sctp-zero-checksum", "pass", f"{said}; the data channel opened")
    else:
        report("sctp-zero-checksum", "fail", f"{said}, and the data channel did not open")
