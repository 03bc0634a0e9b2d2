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

import checks
from client_args import USAGE, Options, UsageError, parse_args
from common import Stopwatch, is_loopback_url, keep_ice_on_loopback, log, rtc_configuration
from key_log import install_key_log

# The media probes (PLI, NACK) take up to ~4 s; with less left they are skipped.
MEDIA_PROBE_SECONDS = 5.0

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
        # For the sub-checks (checks.py)
        self.offer_sdp = None
        self.answer_sdp = None
        self.ice_connected = False
        self.connected = False
        self.channel = None
        self.channel_opened = False
        self.dc_rest: list = []  # messages after the string echo
        self.dc_more = asyncio.Event()
        self.zero_checksum = lambda: None
        self.samples: list = []  # echoed video packets, as aiortc parsed them
        self.echo_listeners: list = []
        self.first_echo_at = None
        self.sent: dict = {}  # our video: sequence number -> timestamp
        self.hold = None  # a future for the next packet held back
        self.held: set = set()
        self.keyframe_requests = 0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        connected, failed = loop.create_future(), loop.create_future()

        @self.pc.on("iceconnectionstatechange")
        def on_ice_state() -> None:
            if self.pc.iceConnectionState in ("connected", "completed") and not self.ice_connected:
                self.ice_connected = True
                self.watch.mark("ice_connected")

        @self.pc.on("connectionstatechange")
        def on_state() -> None:
            state = self.pc.connectionState
            if state == "connected":
                self.connected = True
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
        self.offer_sdp = self.pc.localDescription.sdp

        self.step = "the answer"
        answer = await self.post_offer()
        self.watch.mark("answer")
        self.answer_sdp = answer.sdp
        try:
            await self.pc.setRemoteDescription(answer)
        except Exception as err:
            raise Failure("bad-answer", f"set answer: {err}") from err
        self.hook_for_checks()

        self.step = "connection (ICE+DTLS)"
        await self.first_of(connected, failed, "connection (ICE+DTLS)")
        self.watch.mark("connected")

        if dc_result is not None:
            self.step = "the data channel echo"
            mismatch = None
            try:
                await self.first_of(dc_result, failed, "data channel echo")
                self.watch.mark("dc_echo")
            except Failure as err:
                if not str(err).startswith("echo-mismatch"):
                    raise
                mismatch = err  # the sub-checks after a wrong echo too: they say more about it
            await self.probe_data_channel()
            if mismatch is not None:
                raise mismatch
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
        self.channel = channel

        @channel.on("open")
        def on_open() -> None:
            self.channel_opened = True
            self.watch.mark("dc_open")
            channel.send(sent)

        @channel.on("message")
        def on_message(message) -> None:
            if result.done():
                self.dc_rest.append(message)
                self.dc_more.set()
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

    # --- sub-checks (checks.py) ---------------------------------------------

    def seconds_left(self) -> float:
        return self.opts.timeout - self.watch.elapsed_ms() / 1000

    def hook_for_checks(self) -> None:
        """Once the answer is applied and before DTLS: watch the remote SCTP parameters, the
        echoed video before the jitter buffer, and our video on its way out."""
        if self.pc.sctp is not None:
            self.zero_checksum = checks.watch_sctp_parameters(self.pc.sctp)
        for transceiver in self.pc.getTransceivers():
            if transceiver.kind != "video":
                continue
            receiver, sender = transceiver.receiver, transceiver.sender
            handle = receiver._handle_rtp_packet

            async def observed(packet, arrival_time_ms, handle=handle):
                if self.first_echo_at is None:
                    self.first_echo_at = asyncio.get_running_loop().time()
                if len(self.samples) < 200:
                    self.samples.append(packet)
                for listener in list(self.echo_listeners):
                    listener(packet)
                return await handle(packet, arrival_time_ms)

            receiver._handle_rtp_packet = observed
            dtls = sender.transport
            send = dtls._send_rtp
            ssrc = sender._ssrc

            async def held_back(data, send=send, ssrc=ssrc):
                # RTP of our video (not RTCP: RFC 5761 types 192-223): note it, and drop the one asked for.
                if len(data) >= 12 and not 192 <= data[1] <= 223 and int.from_bytes(data[8:12], "big") == ssrc:
                    seq = int.from_bytes(data[2:4], "big")
                    self.sent[seq] = int.from_bytes(data[4:8], "big")
                    if self.hold is not None and not self.hold.done() and seq not in self.held:
                        self.held.add(seq)
                        self.hold.set_result(seq)
                        return  # lost on the way out; aiortc's history keeps it for a NACK
                return await send(data)

            dtls._send_rtp = held_back
            handle_rtcp = sender._handle_rtcp_packet

            async def rtcp_seen(packet, handle_rtcp=handle_rtcp):
                if type(packet).__name__ == "RtcpPsfbPacket" and getattr(packet, "fmt", None) == 1:
                    self.keyframe_requests += 1
                return await handle_rtcp(packet)

            sender._handle_rtcp_packet = rtcp_seen
            self.video_receiver, self.video_sender = receiver, sender

    def report_transport_checks(self) -> None:
        if self.answer_sdp is None:
            return
        dtls = None
        for transceiver in self.pc.getTransceivers():
            dtls = dtls or transceiver.sender.transport
        if dtls is None and self.pc.sctp is not None:
            dtls = self.pc.sctp.transport
        role = getattr(dtls, "_role", None)
        checks.check_dtls_role(self.offer_sdp, self.answer_sdp, self.ice_connected, self.connected, role, "aiortc")
        if not self.connected:
            return
        if self.opts.test == 0:
            checks.srtp_profile(dtls)
        else:
            checks.check_zero_checksum(self.zero_checksum(), self.channel_opened)

    async def probe_data_channel(self) -> None:
        limit = min(3.0, self.seconds_left() - 0.5)
        if limit < 0.5:
            return
        probes = checks.data_channel_probes(self.offer_sdp, self.answer_sdp, 65536)  # aiortc 1.4: RTCSctpTransport.getCapabilities()
        unsent = {}
        for name, message, _ in probes:
            try:
                self.channel.send(message)
            except Exception as error:  # e.g. a message over aiortc's limit
                unsent[name] = str(error) or repr(error)
        started = asyncio.get_running_loop().time()
        while len(self.dc_rest) < len(probes) and asyncio.get_running_loop().time() - started < limit:
            self.dc_more.clear()
            try:
                await asyncio.wait_for(self.dc_more.wait(), limit - (asyncio.get_running_loop().time() - started))
            except asyncio.TimeoutError:
                break
        elapsed = int((asyncio.get_running_loop().time() - started) * 1000)
        checks.judge_data_channel(probes, self.dc_rest, unsent, elapsed, int(limit * 1000))

    async def next_echo(self, seconds: float, matches):
        found = asyncio.get_running_loop().create_future()

        def listener(packet):
            if not found.done() and matches(packet):
                found.set_result(packet)

        self.echo_listeners.append(listener)
        try:
            return await asyncio.wait_for(found, seconds)
        except asyncio.TimeoutError:
            return None
        finally:
            self.echo_listeners.remove(listener)

    def packet_level(self) -> bool:
        return any(self.sent.get(p.sequence_number) == p.timestamp for p in self.samples)

    async def probe_media(self) -> None:
        if not hasattr(self, "video_receiver"):
            for name in ("pli-keyframe", "nack", "mid-extension"):
                checks.report(name, "n/a", "no video section")
            return
        video = checks.media_section(self.answer_sdp, "video")
        vp8 = {int(pt) for pt in checks.payload_types(video, "VP8")}
        await self.probe_pli(video, vp8)
        await self.probe_nack(video, vp8)
        self.check_mid(video)

    async def probe_pli(self, video, vp8) -> None:
        if not checks.negotiates_feedback(video, "VP8", "nack", "pli"):
            return checks.report("pli-keyframe", "n/a", "the answer does not negotiate a=rtcp-fb nack pli for VP8")
        loop = asyncio.get_running_loop()
        # A re-encoding server's first second or so is its encoder starting (src/client/media-probes.ts).
        if not self.packet_level() and self.first_echo_at is not None:
            await asyncio.sleep(max(0.0, 1.5 - (loop.time() - self.first_echo_at)))
        keyframe = lambda p: p.payload_type in vp8 and checks.is_vp8_keyframe_start(p.payload)  # noqa: E731
        natural = await self.next_echo(1.2, keyframe)
        if natural is not None:
            await asyncio.sleep(0.4)  # libwebrtc ignores a request within 300 ms of the last
        last = next((p for p in reversed(self.samples) if p.payload_type in vp8), None)
        if last is None:
            return checks.report("pli-keyframe", "fail", "no echoed video to ask a keyframe of")
        before = self.keyframe_requests
        answered = asyncio.ensure_future(self.next_echo(0.5, keyframe))
        sent_at = loop.time()
        await self.video_receiver._send_rtcp_pli(last.ssrc)
        back = await answered
        context = ("sent 400 ms after an echoed keyframe" if natural is not None else "no echoed keyframe within 1200 ms before it") + (
            "; a keyframe request reached our sender (relayed)" if self.keyframe_requests > before else "; no keyframe request reached our sender")
        if back is not None:
            checks.report("pli-keyframe", "pass", f"a keyframe came back {int((loop.time() - sent_at) * 1000)} ms after the PLI about SSRC {last.ssrc} ({context})")
        else:
            checks.report("pli-keyframe", "fail", f"no keyframe within 500 ms of a PLI about SSRC {last.ssrc} ({context})")

    async def probe_nack(self, video, vp8) -> None:
        if not checks.negotiates_feedback(video, "VP8", "nack"):
            return checks.report("nack", "n/a", "the answer does not negotiate a=rtcp-fb nack for VP8")
        if not self.packet_level():
            return checks.report("nack", "n/a", "the server re-encodes (no echoed packet is one of ours): a packet held back never shows as a gap in its stream")
        loop = asyncio.get_running_loop()
        self.hold = loop.create_future()
        try:
            held = await asyncio.wait_for(self.hold, 1.0)
        except asyncio.TimeoutError:
            return checks.report("nack", "fail", "our sender sent nothing to hold back within 1000 ms")
        back = {}

        def watch(packet):
            if "at" not in back and packet.payload_type in vp8 and packet.sequence_number == held:
                back["at"] = loop.time()

        self.echo_listeners.append(watch)
        try:
            later = await self.next_echo(1.0, lambda p: p.payload_type in vp8 and (p.sequence_number - held) % 65536 < 0x8000)
            if later is None:
                return checks.report("nack", "fail", f"no echoed packet after the held-back {held} within 1000 ms")
            sent_at = loop.time()
            if "at" not in back:
                await self.video_receiver._send_rtcp_nack(later.ssrc, [held])
            while "at" not in back and loop.time() - sent_at < 1.0:
                await asyncio.sleep(0.005)
            if "at" in back:
                ms = max(0, int((back["at"] - sent_at) * 1000))
                checks.report("nack", "pass", f"packet {held}, held back, came back {ms} ms after the NACK about SSRC {later.ssrc} (aiortc's sender resent it from its history)")
            else:
                checks.report("nack", "fail", f"packet {held} not resent within 1000 ms of a NACK about SSRC {later.ssrc}")
        finally:
            self.echo_listeners.remove(watch)

    def check_mid(self, video) -> None:
        if checks.extension_id(video, checks.MID_URI) == 0:
            return checks.report("mid-extension", "n/a", f"the answer negotiates no {checks.MID_URI}")
        mid = video["mid"]
        packets = list(self.samples)
        if not packets:
            return checks.report("mid-extension", "fail", "video: no packet echoed to look at")
        carrying = sum(1 for p in packets if p.extensions.mid == mid)
        without = sum(1 for p in packets if p.extensions.mid is None)
        wrong = sorted({repr(p.extensions.mid) for p in packets if p.extensions.mid not in (mid, None)})
        detail = f"video: {carrying} of {len(packets)} echoed packets carry mid {mid!r}" + "".join(f", some with mid {w}" for w in wrong) + (f", {without} without it" if without else "")
        # A sender may stop writing the mid once the receiver knows the SSRC (libwebrtc's MidOracle
        # does): packets without it are fine, one with another mid is not.
        checks.report("mid-extension", "pass" if carrying and not wrong else "fail", detail)

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
        if self.first_echo.is_set():
            self.step = "the media sub-checks"
            if self.seconds_left() > MEDIA_PROBE_SECONDS:
                await self.probe_media()
            else:
                for name in ("pli-keyframe", "nack", "mid-extension"):
                    checks.report(name, "n/a", "too little time left in --timeout to probe")
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
    outcome, code = None, 1
    try:
        await asyncio.wait_for(client.run(), opts.timeout)
        outcome, code = f"ok test {opts.test}", 0
    except asyncio.TimeoutError:
        outcome = f"error: timeout: waiting for {client.step} ({opts.timeout:g} s)"
    except Failure as err:
        outcome = f"error: {err}"
    except Exception as err:  # anything aiortc raises must still end in exit 1
        outcome = f"error: internal: {err!r}"
    finally:
        try:
            client.report_transport_checks()
        except Exception as err:  # a sub-check must never change the outcome
            log(f"warning: transport sub-checks failed: {err!r}")
        await client.close()
    log(outcome)  # the last line, as the contract wants
    return code


def main() -> None:
    try:
        opts = parse_args(sys.argv[1:])
    except UsageError as err:
        log(f"error: usage: {err}\n{USAGE}")
        os._exit(1)
    if opts.test not in (0, 1):
        # 127: a test this client does not run (the QUIC interop runner's convention), not a failure.
        log(f"error: unsupported: test type {opts.test} is not one this client runs (0, 1)")
        os._exit(127)
    install_key_log()
    if is_loopback_url(opts.url):
        keep_ice_on_loopback()
    code = asyncio.run(main_async(opts))
    sys.stdout.flush()
    sys.stderr.flush()
    # aiortc's codec threads and the media player must not hold the exit back.
    os._exit(code)


if __name__ == "__main__":
    main()
