"""The client's command line, in both forms of the Echo Test container contract:
"URL" and "-s URL -t N", the latter possibly as one argument holding all flags."""

import argparse
import shlex
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

USAGE = """usage: client.py URL
       client.py -s URL [-t 0|1] [--timeout SECONDS] [--echo-ms MS] [--require-echo] [--ivf FILE]
       client.py "-s URL -t 1"   (all flags in one argument)"""


class UsageError(Exception):
    pass


@dataclass
class Options:
    url: str
    test: int = 0  # 0 peer connection, 1 data channel echo
    timeout: float = 15.0  # whole run, seconds
    echo_ms: int = 0  # test 0: how long to keep media flowing once connected
    require_echo: bool = False  # test 0: fail when no frame came back
    ivf: str | None = None  # video clip; default: testdata/*.ivf, else synthetic


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # raise instead of exiting with status 2
        raise UsageError(message)


def parse_args(argv: list[str]) -> Options:
    if len(argv) == 1 and len(argv[0].split()) > 1:
        argv = shlex.split(argv[0])
    parser = _Parser(add_help=False)
    parser.add_argument("url", nargs="?")
    parser.add_argument("-s", "--server", dest="server")
    # Any number parses: one the client does not run exits 127 (unsupported), not 1.
    parser.add_argument("-t", "--test", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=15.0)
    parser.add_argument("--echo-ms", type=int, default=0)
    parser.add_argument("--require-echo", action="store_true")
    parser.add_argument("--ivf")
    ns = parser.parse_args(argv)
    url = ns.server or ns.url
    if not url:
        raise UsageError("missing server URL")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"not an http(s) URL: {url!r}")
    if parts.path in ("", "/"):
        # A bare server address means its /offer, the only path the Echo Test defines.
        url = urlunsplit((parts.scheme, parts.netloc, "/offer", parts.query, ""))
    if ns.timeout <= 0:
        raise UsageError("timeout must be positive")
    echo_ms = ns.echo_ms or (3000 if ns.require_echo else 0)
    return Options(url, ns.test, ns.timeout, echo_ms, ns.require_echo, ns.ivf)
