"""The client's command line in both forms of the Echo Test container contract:
"URL" and "-s URL -t N", the latter possibly passed as one argument."""

import argparse
import shlex
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

USAGE = (
    "usage: client.py URL\n"
    "       client.py -s URL [-t 0|1] [--timeout SECONDS] [--echo-ms MS] [--require-echo]\n"
    '       client.py "-s URL -t 1"   (all flags in one argument)'
)


class UsageError(Exception):
    pass


@dataclass
class Options:
    url: str
    test: int = 0  # 0 peer connection, 1 data channel echo
    timeout: float = 15.0  # the whole run, signaling included, in seconds
    echo_ms: int = 0  # test 0: how long media keeps flowing once connected
    require_echo: bool = False  # test 0: fail when nothing came back


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would exit with status 2
        raise UsageError(message)


def parse_args(argv):
    # "-s URL -t 1" may come as one argument, alone or beside other flags.
    argv = [part for arg in argv
            for part in (shlex.split(arg) if arg.startswith("-") and len(arg.split()) > 1 else [arg])]
    parser = _Parser(add_help=False)
    parser.add_argument("url", nargs="?")
    parser.add_argument("-s", "--server")
    # Any number parses: one the client does not run exits 127 (unsupported), not 1.
    parser.add_argument("-t", "--test", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=15.0)
    parser.add_argument("--echo-ms", type=int, default=0)
    parser.add_argument("--require-echo", action="store_true")
    args = parser.parse_args(argv)
    url = args.server or args.url
    if not url:
        raise UsageError("no server URL")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"not an http(s) URL: {url!r}")
    if parts.path in ("", "/"):
        # A bare server address means its /offer, the one path the Echo Test has.
        url = urlunsplit((parts.scheme, parts.netloc, "/offer", parts.query, ""))
    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    echo_ms = args.echo_ms or (3000 if args.require_echo else 0)
    return Options(url, args.test, args.timeout, echo_ms, args.require_echo)
