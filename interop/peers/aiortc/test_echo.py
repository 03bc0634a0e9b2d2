"""Loopback tests of the aiortc peers. Run: cd interop/peers/aiortc &&
/usr/bin/python3 -m unittest -v test_echo"""

import asyncio
import unittest

import aiohttp
from aiohttp import web

from client import EchoClient, Failure
from client_args import UsageError, parse_args
from server import make_app
from session import Sessions


class ParseArgsTest(unittest.TestCase):
    def test_accepts_every_form_of_the_container_contract(self):
        for argv, url, test in [
            (["http://127.0.0.1:8080/offer"], "http://127.0.0.1:8080/offer", 0),
            (["-s", "http://h:1/offer", "-t", "1"], "http://h:1/offer", 1),
            (["-s http://h:1/offer -t 1"], "http://h:1/offer", 1),
            (["http://h:1"], "http://h:1/offer", 0),
        ]:
            opts = parse_args(argv)
            self.assertEqual((opts.url, opts.test, opts.timeout), (url, test, 15.0), argv)

    def test_rejects_bad_input(self):
        for argv in [[], ["ftp://h/offer"], ["--bogus", "http://h/"]]:
            with self.assertRaises(UsageError, msg=argv):
                parse_args(argv)


    def test_another_test_type_parses_and_the_client_exits_127(self):
        self.assertEqual(parse_args(["-t", "2", "http://h/offer"]).test, 2)
        import os
        import subprocess
        import sys

        here = os.path.dirname(os.path.abspath(__file__))
        run = subprocess.run([sys.executable, os.path.join(here, "client.py"), "-t", "2", "http://127.0.0.1:9/offer"], capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 127, run.stderr)
        self.assertIn("error: unsupported: test type 2", run.stderr)


class ChecksTest(unittest.TestCase):
    def test_sdp_readings_and_the_line_protocol(self):
        import contextlib
        import io

        import checks

        offer = "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=setup:actpass\r\na=max-message-size:65536\r\n"
        answer = "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=setup:active\r\n"
        self.assertEqual(checks.max_message_size(answer), (65536, False))
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            checks.check_dtls_role(offer, answer, True, True, "server", "aiortc")
            checks.check_dtls_role(offer, offer, True, False, None, "aiortc")
        lines = err.getvalue().splitlines()
        self.assertTrue(lines[0].startswith("check dtls-role pass we are the DTLS server"), lines[0])
        self.assertTrue(lines[1].startswith("check dtls-role fail the answer says actpass"), lines[1])
        video = checks.media_section("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack \r\n", "video")
        self.assertTrue(checks.negotiates_feedback(video, "VP8", "nack"))
        self.assertFalse(checks.negotiates_feedback(video, "VP8", "nack", "pli"))
        # libwebrtc's keyframe start (test/media/vp8-keyframe.test.ts), past its 20-byte header
        key = bytes.fromhex("9080aed3d04f009d012a4001f0003947000f1c22")
        self.assertTrue(checks.is_vp8_keyframe_start(key))
        self.assertFalse(checks.is_vp8_keyframe_start(bytes.fromhex("9080aecaf11300e4e0afb926d612c06b15917400")))


class EchoTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.sessions = Sessions()
        self.runner = web.AppRunner(make_app(self.sessions))
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/offer"

    async def asyncTearDown(self):
        await self.sessions.close_all(timeout=2)
        await self.runner.cleanup()

    async def run_client(self, *argv):
        client = EchoClient(parse_args(list(argv)))
        try:
            await asyncio.wait_for(client.run(), 10)
        finally:
            await client.close()

    async def test_data_channel_message_comes_back(self):
        await self.run_client("-s", self.url, "-t", "1")

    async def test_video_comes_back(self):
        await self.run_client("-s", self.url, "-t", "0", "--require-echo")

    async def test_offer_that_is_not_an_offer_gets_400_and_no_session(self):
        async with aiohttp.ClientSession() as http:
            for body in ["not json", '{"type":"answer","sdp":"v=0"}', '{"type":"offer","sdp":"garbage"}']:
                async with http.post(self.url, data=body) as res:
                    self.assertEqual(res.status, 400, body)
                    self.assertEqual(res.headers["Access-Control-Allow-Origin"], "*")
            async with http.options(self.url) as res:
                self.assertEqual(res.status, 204)
        self.assertEqual(self.sessions.live, {})

    async def test_both_sides_log_the_same_dtls_keys_to_sslkeylogfile(self):
        import os
        import re
        import tempfile

        from key_log import install_key_log

        with tempfile.TemporaryDirectory() as tmp:
            keys = os.path.join(tmp, "keys.log")
            os.environ["SSLKEYLOGFILE"] = keys
            uninstall = install_key_log()
            try:
                await self.run_client("-s", self.url, "-t", "1")
            finally:
                uninstall()
                del os.environ["SSLKEYLOGFILE"]
            with open(keys) as f:
                lines = f.read().splitlines()
        # One handshake, written by the server and by the client: the same line twice.
        self.assertEqual(len(lines), 2, lines)
        self.assertEqual(lines[0], lines[1])
        self.assertRegex(lines[0], r"^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$")

    async def test_closed_port_fails_as_unreachable(self):
        with self.assertRaisesRegex(Failure, "signaling-unreachable"):
            await self.run_client("-s", "http://127.0.0.1:9/offer", "-t", "1")


if __name__ == "__main__":
    unittest.main()
