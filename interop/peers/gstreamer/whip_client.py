"""A WHIP client (RFC 9725) on GStreamer webrtcbin: publishes Opus and VP8 from test sources.

    /usr/bin/python3 interop/peers/gstreamer/whip_client.py URL [--seconds 5] [--timeout 15]

Offers sendonly audio and video with every candidate inside (non-trickle), POSTs it as
application/sdp, applies the answer, publishes for --seconds once ICE and DTLS are up, then
DELETEs the session. Debian bookworm has no whipsink (gst-plugins-rs) and its simple-whip-client
aborts at start (libsoup 2 against GStreamer's libsoup 3), so this is the GStreamer ingest
client that runs here.

On stdout, one line per step: "status 201", "location URL" (as soon as the 201 arrives: a
viewer can watch from then on), "etag TAG", "connected_ms N", "deleted 200". Exit 0 when every
step worked; exit 1 with "error: <reason>: <detail>" on stderr otherwise.
"""

import argparse
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from client import MEDIA_SOURCES  # noqa: E402
from gst_webrtc import (  # noqa: E402
    CandidateGatherer,
    Gst,
    GstWebRTC,
    WebRTCError,
    description,
    is_loopback_url,
    keep_ice_on_loopback,
    make_webrtcbin,
    run_promise,
    stop_pipeline,
    watch_errors,
)

ConnectionState = GstWebRTC.WebRTCPeerConnectionState


class Failure(Exception):
    pass


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def request(method, url, body=None, content_type=None, seconds=5.0):
    """One HTTP request: (status, headers, body text). HTTP errors are answers, not exceptions."""
    headers = {"Content-Type": content_type} if content_type else {}
    req = urllib.request.Request(url, data=body.encode() if body is not None else None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=max(0.1, seconds)) as response:
            return response.status, response.headers, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as error:
        raise Failure(f"signaling-unreachable: {method} {url}: {error}") from error


def publish(opts):
    start = time.monotonic()
    deadline = start + opts.timeout
    pipeline = Gst.Pipeline.new("whip-client")
    webrtc = make_webrtcbin()
    pipeline.add(webrtc)
    # RFC 9725: max-bundle, and rtcp-mux-only in each bundled section.
    webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
    gatherer = CandidateGatherer(webrtc)
    broken = []
    stopped = threading.Event()
    watch_errors(pipeline, broken.append, stopped)
    resource = None
    try:
        for chain, caps in MEDIA_SOURCES:
            ssrc = random.randint(1, 0xFFFFFFFF)
            source = Gst.parse_bin_from_description(f"{chain} ssrc={ssrc} ! capsfilter caps={caps},ssrc=(uint){ssrc}", True)
            pipeline.add(source)
            sink = webrtc.request_pad_simple("sink_%u")
            source.get_static_pad("src").link(sink)
            sink.get_property("transceiver").set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
        if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            raise Failure("internal: the pipeline would not start")
        offer = run_promise(webrtc, "create-offer", None, field="offer")
        run_promise(webrtc, "set-local-description", offer)
        offer_sdp = gatherer.local_sdp(limit=3.0)

        status, headers, answer = request("POST", opts.url, offer_sdp, "application/sdp", deadline - time.monotonic())
        say(f"status {status}")
        if status != 201:
            raise Failure(f"signaling-http: POST {opts.url}: {status} {' '.join(answer.split())[:200]}")
        location = headers.get("Location")
        if not location:
            raise Failure("bad-answer: 201 without a Location")
        resource = urllib.parse.urljoin(opts.url, location)
        say(f"location {resource}")
        say(f"etag {headers.get('ETag', '')}")
        try:
            run_promise(webrtc, "set-remote-description", description("answer", answer))
        except WebRTCError as error:
            raise Failure(f"bad-answer: {error}") from error

        while webrtc.get_property("connection-state") != ConnectionState.CONNECTED:
            if broken:
                raise Failure(f"connection-failed: {broken[0]}")
            if webrtc.get_property("connection-state") in (ConnectionState.FAILED, ConnectionState.CLOSED):
                raise Failure("connection-failed: the peer connection failed")
            if time.monotonic() > deadline:
                raise Failure("timeout: not connected")
            time.sleep(0.02)
        say(f"connected_ms {int((time.monotonic() - start) * 1000)}")
        time.sleep(opts.seconds)
        if broken:
            raise Failure(f"connection-failed: {broken[0]}")
    finally:
        if resource is not None:
            status, _headers, text = request("DELETE", resource)
            say(f"deleted {status}")
            if status != 200 and sys.exc_info()[0] is None:
                raise Failure(f"signaling-http: DELETE {resource}: {status} {text[:200]}")
        gatherer.detach()
        stopped.set()
        stop_pipeline(pipeline, first=webrtc)


def main(argv):
    parser = argparse.ArgumentParser(description="Publish Opus and VP8 to a WHIP endpoint with webrtcbin.")
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to publish once connected")
    parser.add_argument("--timeout", type=float, default=15.0, help="give up on connecting after this long")
    opts = parser.parse_args(argv)
    if is_loopback_url(opts.url):
        keep_ice_on_loopback()
    try:
        publish(opts)
    except Failure as failure:
        sys.stderr.write(f"error: {failure}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
