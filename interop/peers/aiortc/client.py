"""aiortc Echo Test client. Exits 0 when the test passes and 1, with one
"error: <reason>: <detail>" line on stderr, when it does not.

Run with Debian's interpreter: /usr/bin/python3 client.py -s URL -t 1
"""

import asyncio
import glob
import json
import os
import random
import string
import sys

import aiohttp
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from aiortc.contrib.media import MediaPlayer

from client_args import USAGE, Options, UsageError, parse_args
from common import Stopwatch, log, rtc_configuration

HERE = os.path.dirname(os.path.abspath(__file__))
CLOSE_TIMEOUT = 2.0


class Failure(Exception):
    """A failed run: reason is one of signaling-unreachable, signaling-http,
    bad-answer, connection-failed, timeout, echo-mismatch, no-echo."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")


def find_clip(asked: str | None) -> str | None:
    if asked:
        return asked
    for path in sorted(glob.glob(os.path.join(HERE, "..", "..", "..", "testdata", "*.ivf"))):
        with open(path, "rb") as f:
            if f.read(12)[8:12] == b"VP80":
                return os.path.normpath(path)
    return None


class EchoClient:
    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.watch = Stopwatch()
        self.pc = RTCPeerConnection(rtc_configuration())
        self.player: MediaPlayer | None = None
        self.step = "start"  # what a timeout was waiting for
        self.echoed_frames = 0
        self.first_echo = asyncio.Event()
        self.readers: list[asyncio.Task] = []

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        connected, failed = loop.create_future(), loop.create_future()

        @self.pc.on("connectionstatechange")
        def on_state() -> None:
            state = self.pc.connectionState
            if state == "connected" and not connected.done():
                connected.set_result(None)
            elif state in ("failed", "closed") and not failed.done():
                failed.set_result(state)

        dc_result = self.open_echo_channel() if self.opts.test == 1 else None
        if self.opts.test == 0:
            self.add_video()

        self.step = "ICE gathering"
        # aiortc gathers every candidate before setLocalDescription returns.
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.watch.mark("offer")

        self.step = "the answer"
        answer = await self.post_offer()
        self.watch.mark("answer")
        try:
            await self.pc.setRemoteDescription(answer)
        except Exception as err:
            raise Failure("bad-answer", f"set answer: {err}") from err

        self.step = "connection (ICE+DTLS)"
        await self.first_of(connected, failed, "connection (ICE+DTLS)")
        self.watch.mark("connected")

        if dc_result is not None:
            self.step = "the data channel echo"
            await self.first_of(dc_result, failed, "data channel echo")
            self.watch.mark("dc_echo")
        elif self.opts.echo_ms > 0:
            await self.wait_for_echo()

    async def first_of(self, wanted: asyncio.Future, failed: asyncio.Future, what: str):
        await asyncio.wait([wanted, failed], return_when=asyncio.FIRST_COMPLETED)
        if wanted.done():
            return wanted.result()  # raises the Failure a data channel may have set
        raise Failure("connection-failed", f"peer connection {failed.result()} while waiting for the {what}")

    def open_echo_channel(self) -> asyncio.Future:
        result = asyncio.get_running_loop().create_future()
        sent = "".join(random.choices(string.ascii_letters + string.digits, k=5))
        channel = self.pc.createDataChannel("echo")

        @channel.on("open")
        def on_open() -> None:
            self.watch.mark("dc_open")
            channel.send(sent)

        @channel.on("message")
        def on_message(message) -> None:
            if result.done():
                return
            if message == sent:
                result.set_result(None)
            else:
                result.set_exception(Failure("echo-mismatch", f"sent {sent!r}, got {message!r}"))

        return result

    def add_video(self) -> None:
        # Video only: aiortc 1.4 bundles audio and video with one header-extension
        # id for both audio-level and abs-send-time, then cannot parse its own RTP.
        clip = find_clip(self.opts.ivf)
        if clip:
            self.player = MediaPlayer(clip, loop=True)
            track = self.player.video
            log(f"video {clip}")
        else:
            track = VideoStreamTrack()  # synthetic frames
            log("video synthetic (no VP8 .ivf found)")
        self.pc.addTrack(track)

        @self.pc.on("track")
        def on_track(remote) -> None:
            self.readers.append(asyncio.ensure_future(self.count_frames(remote)))

    async def count_frames(self, remote) -> None:
        while True:
            try:
                await remote.recv()
            except Exception:  # MediaStreamError once the track ends
                return
            self.echoed_frames += 1
            if not self.first_echo.is_set():
                self.watch.mark("first_echo")
                self.first_echo.set()

    async def wait_for_echo(self) -> None:
        """Keeps media flowing for --echo-ms (or, with --require-echo, until the first
        echoed frame) and reports the decoded frames that came back."""
        self.step = "echoed media"
        try:
            if self.opts.require_echo:
                await asyncio.wait_for(self.first_echo.wait(), self.opts.echo_ms / 1000)
            else:
                await asyncio.sleep(self.opts.echo_ms / 1000)
        except asyncio.TimeoutError:
            pass
        log(f"echo-frames {self.echoed_frames}")
        if self.opts.require_echo and self.echoed_frames == 0:
            raise Failure("no-echo", f"no frame echoed within {self.opts.echo_ms} ms")

    async def post_offer(self) -> RTCSessionDescription:
        offer = self.pc.localDescription
        try:
            async with aiohttp.ClientSession() as http:
                async with http.post(self.opts.url, json={"type": offer.type, "sdp": offer.sdp}) as res:
                    body = await res.text()
                    if res.status // 100 != 2:
                        raise Failure("signaling-http", f"HTTP {res.status}: {one_line(body)}")
        except aiohttp.ClientError as err:
            raise Failure("signaling-unreachable", one_line(str(err))) from err
        try:
            answer = json.loads(body)
            if answer.get("type") != "answer" or not answer.get("sdp"):
                raise ValueError
        except (ValueError, AttributeError) as err:
            raise Failure("bad-answer", f"not an SDP answer: {one_line(body)}") from err
        return RTCSessionDescription(sdp=answer["sdp"], type="answer")

    async def close(self) -> None:
        for task in self.readers:
            task.cancel()
        try:
            await asyncio.wait_for(self.pc.close(), CLOSE_TIMEOUT)
        except asyncio.TimeoutError:
            log("warning: peer connection close timed out")
        if self.player and self.player.video:
            self.player.video.stop()


def one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:200] + "..."


async def main_async(opts: Options) -> int:
    client = EchoClient(opts)
    try:
        await asyncio.wait_for(client.run(), opts.timeout)
        log(f"ok test {opts.test}")
        return 0
    except asyncio.TimeoutError:
        log(f"error: timeout: waiting for {client.step} ({opts.timeout:g} s)")
    except Failure as err:
        log(f"error: {err}")
    except Exception as err:  # anything aiortc raises must still end in exit 1
        log(f"error: internal: {err!r}")
    finally:
        await client.close()
    return 1


def main() -> None:
    try:
        opts = parse_args(sys.argv[1:])
    except UsageError as err:
        log(f"error: usage: {err}\n{USAGE}")
        os._exit(1)
    code = asyncio.run(main_async(opts))
    sys.stdout.flush()
    sys.stderr.flush()
    # aiortc's codec threads and the media player must not hold the exit back.
    os._exit(code)


if __name__ == "__main__":
    main()
