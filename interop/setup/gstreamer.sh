#!/usr/bin/env bash
# Makes sure the GStreamer webrtcbin Echo Test peers (interop/peers/gstreamer) can run:
# installs the Debian packages they need when one is missing, then checks that
# Debian's /usr/bin/python3 finds webrtcbin and every element the peers use.
# Usage: interop/setup/gstreamer.sh
set -euo pipefail

packages=(
  gstreamer1.0-tools
  gstreamer1.0-plugins-base  # audiotestsrc, videotestsrc, opus
  gstreamer1.0-plugins-good  # vp8enc, rtp payloaders, rtpbin
  gstreamer1.0-plugins-bad   # webrtcbin, dtls, srtp, sctp
  gstreamer1.0-nice          # libnice ICE for webrtcbin
  python3-gst-1.0
  gir1.2-gst-plugins-bad-1.0 # the GstWebRTC typelib for Python
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get install -y --no-install-recommends "${missing[@]}"
fi

elements=(webrtcbin nicesrc dtlssrtpenc sctpenc rtpbin audiotestsrc videotestsrc opusenc vp8enc
  rtpopuspay rtpopusdepay rtpvp8pay rtpvp8depay rtpvp9pay rtpvp9depay rtph264pay rtph264depay
  rtppcmupay rtppcmudepay rtppcmapay rtppcmadepay)
for element in "${elements[@]}"; do
  gst-inspect-1.0 "$element" >/dev/null 2>&1 || { echo "GStreamer element $element is missing" >&2; exit 1; }
done
/usr/bin/python3 -c '
import gi
gi.require_version("Gst", "1.0"); gi.require_version("GstWebRTC", "1.0"); gi.require_version("GstSdp", "1.0")
from gi.repository import Gst, GstWebRTC, GstSdp
Gst.init(None)
print("gstreamer peers ready:", Gst.version_string())
'
