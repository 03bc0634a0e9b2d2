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
        for argv in [[], ["-t", "2", "http://h/offer"], ["ftp://h/offer"], ["--bogus", "http://h/"]]:
            with self.assertRaises(UsageError, msg=argv):
                parse_args(argv)


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

    async def test_closed_port_fails_as_unreachable(self):
        with self.assertRaisesRegex(Failure, "signaling-unreachable"):
            await self.run_client("-s", "http://127.0.0.1:9/offer", "-t", "1")


if __name__ == "__main__":
    unittest.main()
