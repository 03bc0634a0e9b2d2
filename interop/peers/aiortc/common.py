"""What the aiortc Echo Test server and client share: ICE configuration and step
timings printed on stderr."""

import os
import sys
import time

import aioice.ice
from aiortc import RTCConfiguration

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from loopback import is_loopback_host, is_loopback_url  # noqa: E402,F401  (the peers import them from here)


def rtc_configuration() -> RTCConfiguration:
    # An empty list, not None: with None, aiortc 1.4 falls back to Google's public
    # STUN server, and these peers must only talk to this machine.
    return RTCConfiguration(iceServers=[])


class Stopwatch:
    """Prints "<prefix><step>_ms N" lines on stderr, N counted from its start."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.start = time.monotonic()

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self.start) * 1000)

    def mark(self, step: str) -> None:
        print(f"{self.prefix}{step}_ms {self.elapsed_ms()}", file=sys.stderr, flush=True)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def keep_ice_on_loopback() -> None:
    """Gather 127.0.0.1 and ::1 only: the other peer is on this machine, reached on loopback,
    and this machine's other addresses must carry none of a test's packets. aioice 0.8 gathers
    the addresses get_host_addresses returns (every interface's but loopback's) and binds one
    socket to each; it has no filter of its own, so the function is replaced."""

    def loopback(use_ipv4: bool, use_ipv6: bool) -> list:
        return (["127.0.0.1"] if use_ipv4 else []) + (["::1"] if use_ipv6 else [])

    aioice.ice.get_host_addresses = loopback
