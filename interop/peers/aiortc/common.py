"""What the aiortc Echo Test server and client share: ICE configuration and step
timings printed on stderr."""

import sys
import time

from aiortc import RTCConfiguration


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
