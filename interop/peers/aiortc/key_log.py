"""DTLS keys to SSLKEYLOGFILE (NSS key log lines), as the matrix's --capture asks of every
peer it starts: aiortc has no option for it, but its DTLS is pyOpenSSL, whose contexts take a
key log callback. Installed when SSLKEYLOGFILE is set, for every connection of the process."""

import os

from aiortc import rtcdtlstransport


def install_key_log():
    """Returns a function that takes the hook out again (for tests), or None when not installed."""
    path = os.environ.get("SSLKEYLOGFILE")
    if not path:
        return None
    create = rtcdtlstransport.RTCCertificate._create_ssl_context

    def write(_connection, line: bytes) -> None:
        # One whole line per write, appended: the other peer of the cell may share the file.
        try:
            with open(path, "ab") as keys:
                keys.write(line + b"\n")
        except OSError:
            pass  # evidence only: the test goes on without it

    def create_with_key_log(self):
        context = create(self)
        context.set_keylog_callback(write)
        return context

    rtcdtlstransport.RTCCertificate._create_ssl_context = create_with_key_log

    def uninstall() -> None:
        rtcdtlstransport.RTCCertificate._create_ssl_context = create

    return uninstall
