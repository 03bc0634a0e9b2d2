"""One server-side Echo Test session: a peer connection that sends every received
track back (decoded and re-encoded by aiortc) and echoes data channel messages."""

import asyncio
import itertools

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay

from common import Stopwatch, log, rtc_configuration

# Closing states: the client is gone or unreachable, release everything.
CLOSING_STATES = {"failed", "disconnected", "closed"}

# A session that has not connected by then never will (an offer without media, a
# client that left before ICE); it is released rather than kept forever.
CONNECT_DEADLINE_S = 30

_ids = itertools.count(1)


class BadOffer(Exception):
    """The offer could not be applied (HTTP 400)."""


class Session:
    def __init__(self, sessions: "Sessions") -> None:
        self.id = next(_ids)
        self.sessions = sessions
        self.pc = RTCPeerConnection(rtc_configuration())
        self.watch = Stopwatch(f"session {self.id} ")
        self.closing: asyncio.Task | None = None
        self.deadline: asyncio.TimerHandle | None = None
        # Unbuffered: a slow encoder drops stale frames instead of queueing them.
        self.relay = MediaRelay()
        self.pc.on("track", self.on_track)
        self.pc.on("datachannel", self.on_datachannel)
        self.pc.on("connectionstatechange", self.on_connection_state)

    async def answer(self, offer: RTCSessionDescription) -> RTCSessionDescription:
        """Applies the offer and returns the answer with every candidate inside
        (aiortc gathers before setLocalDescription returns: no trickle)."""
        try:
            await self.pc.setRemoteDescription(offer)
        except Exception as err:  # aiortc raises ValueError and friends
            await self.close("bad offer")
            raise BadOffer(str(err)) from err
        try:
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        except Exception:
            await self.close("answer failed")
            raise
        self.watch_dtls_shutdown()
        self.deadline = asyncio.get_running_loop().call_later(CONNECT_DEADLINE_S, self.expire)
        self.watch.mark("answer")
        return self.pc.localDescription

    def watch_dtls_shutdown(self) -> None:
        # aiortc 1.4 keeps connectionState "connected" after the client's DTLS
        # close_notify (its DTLS transport alone turns "closed"); without this the
        # session would live until consent freshness expires.
        transports = {t.sender.transport for t in self.pc.getTransceivers() if t.sender.transport}
        if self.pc.sctp is not None:
            transports.add(self.pc.sctp.transport)
        for transport in transports:

            @transport.on("statechange")
            async def on_dtls_state(transport=transport) -> None:
                if transport.state in ("closed", "failed"):
                    await self.close(f"dtls {transport.state}")

    def on_track(self, track) -> None:
        # Fired during setRemoteDescription, so the echo is in the answer.
        self.pc.addTrack(self.relay.subscribe(track, buffered=False))

    def on_datachannel(self, channel) -> None:
        @channel.on("message")
        def on_message(message) -> None:
            channel.send(message)  # str stays text, bytes stay binary

    async def on_connection_state(self) -> None:
        state = self.pc.connectionState
        if state == "connected":
            self.watch.mark("connected")
            if self.deadline:
                self.deadline.cancel()
        elif state in CLOSING_STATES:
            await self.close(state)

    def expire(self) -> None:
        if self.pc.connectionState != "connected":
            asyncio.ensure_future(self.close(f"not connected within {CONNECT_DEADLINE_S} s"))

    async def close(self, reason: str) -> None:
        """Closes once, whoever asks first; later callers wait for the same close."""
        if self.deadline:
            self.deadline.cancel()
        if self.closing is None:
            log(f"session {self.id} closed: {reason}")
            self.sessions.forget(self)
            self.closing = asyncio.ensure_future(self.pc.close())
        await asyncio.shield(self.closing)


class Sessions:
    """Owns every live session; a session removes itself when it closes."""

    def __init__(self) -> None:
        self.live: dict[int, Session] = {}

    def create(self) -> Session:
        session = Session(self)
        self.live[session.id] = session
        return session

    def forget(self, session: Session) -> None:
        self.live.pop(session.id, None)

    async def close_all(self, timeout: float) -> None:
        sessions = list(self.live.values())
        if sessions:
            await asyncio.wait(
                [asyncio.ensure_future(s.close("server shutdown")) for s in sessions],
                timeout=timeout,
            )
