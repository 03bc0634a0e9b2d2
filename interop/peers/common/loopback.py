"""Whether a host or URL is on this machine's loopback: the Python peers (aiortc, GStreamer) then
gather and check loopback only, as our own peers do for a loopback server URL or --host. Plain
Python, no dependencies."""

import ipaddress
from urllib.parse import urlsplit


def is_loopback_host(host) -> bool:
    host = (host or "").strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    return is_loopback_host(urlsplit(url).hostname)
