"""aiortc Echo Test server: POST /offer, echo of media and data channel messages.

Prints "listening <port>" on stdout once ready; exits 0 on SIGINT/SIGTERM.
Run with Debian's interpreter: /usr/bin/python3 server.py --port 8080
"""

import argparse
import asyncio
import json
import os
import signal
import sys

import aioice.ice
from aiohttp import web
from aiortc import RTCSessionDescription

from common import is_loopback_host, keep_ice_on_loopback, log
from key_log import install_key_log
from session import BadOffer, Sessions

MAX_OFFER_BYTES = 1 << 20

# Consent freshness (RFC 7675) is how a session notices a client that vanished
# without a DTLS close_notify. aioice's default, 6 checks 5 s apart, keeps a dead
# session for 30 s; 3 checks 2 s apart release it after about 6 s, as pion does.
aioice.ice.CONSENT_INTERVAL = 2
aioice.ice.CONSENT_FAILURES = 3

CORS_HEADERS = {
    # Any page may call us: the Echo Test's browser client is served elsewhere.
    "Access-Control-Allow-Origin": "*",
}
PREFLIGHT_HEADERS = {
    **CORS_HEADERS,
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "600",
}


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=CORS_HEADERS)


def make_app(sessions: Sessions) -> web.Application:
    async def offer(request: web.Request) -> web.Response:
        try:
            params = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return error(400, "body is not JSON")
        if not isinstance(params, dict) or params.get("type") != "offer" or not params.get("sdp"):
            return error(400, 'expected {"type":"offer","sdp":"..."}')
        if "m=" not in params["sdp"]:
            # aiortc 1.4 would answer a media-less offer, and the session would
            # wait for a connection that cannot come.
            return error(400, "not a usable SDP offer: no media section")
        session = sessions.create()
        try:
            answer = await session.answer(RTCSessionDescription(sdp=params["sdp"], type="offer"))
        except BadOffer as err:
            log(f"offer refused: {err}")
            return error(400, f"not a usable SDP offer: {err}")
        except Exception as err:
            log(f"answer failed: {err!r}")
            return error(500, str(err))
        return web.json_response({"type": answer.type, "sdp": answer.sdp}, headers=CORS_HEADERS)

    async def preflight(request: web.Request) -> web.Response:
        return web.Response(status=204, headers=PREFLIGHT_HEADERS)

    app = web.Application(client_max_size=MAX_OFFER_BYTES)
    app.router.add_post("/offer", offer)
    app.router.add_route("OPTIONS", "/offer", preflight)
    return app


async def serve(host: str, port: int) -> None:
    sessions = Sessions()
    runner = web.AppRunner(make_app(sessions), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # the real port when asked for 0

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"listening {bound}", flush=True)

    await stop.wait()
    log(f"stopping: closing {len(sessions.live)} sessions")
    await sessions.close_all(timeout=2)
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description="aiortc Echo Test server")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    install_key_log()
    if is_loopback_host(args.host):
        # A server on loopback is for clients on this machine: it announces loopback only.
        keep_ice_on_loopback()
    try:
        asyncio.run(serve(args.host, args.port))
    except OSError as err:
        log(f"error: listen: {err}")
        sys.stdout.flush()
        os._exit(1)
    sys.stdout.flush()
    sys.stderr.flush()
    # aiortc's codec threads must not hold the exit back.
    os._exit(0)


if __name__ == "__main__":
    main()
