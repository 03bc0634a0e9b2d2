/** GStreamer webrtcbin (Python bindings): interop/peers/gstreamer. */
import { contractPeer } from './contract-peer.js';

/** webrtcbin needs libnice's elements and the VP8/Opus codecs on top of the Python bindings. */
const PROBE = [
  'import gi',
  "gi.require_version('Gst', '1.0')",
  "gi.require_version('GstWebRTC', '1.0')",
  'from gi.repository import Gst, GstWebRTC',
  'Gst.init(None)',
  "missing = [e for e in ('webrtcbin', 'nicesrc', 'vp8enc', 'vp8dec', 'opusenc', 'rtpvp8pay') if not Gst.ElementFactory.find(e)]",
  "assert not missing, 'missing GStreamer elements: ' + ', '.join(missing)",
].join('\n');

export const gstreamerPeer = contractPeer({
  name: 'gstreamer',
  label: 'GStreamer webrtcbin (Debian)',
  serverCommand: ['/usr/bin/python3', 'interop/peers/gstreamer/server.py'],
  clientCommand: ['/usr/bin/python3', 'interop/peers/gstreamer/client.py'],
  // Test 0: fail unless RTP comes back, so the cell checks the media echo (and the media sub-checks run).
  test0ClientArgs: ['--require-echo'],
  probe: ['/usr/bin/python3', '-c', PROBE],
  keyLog: { writes: false, note: "webrtcbin's dtlsenc/dtlsdec keep their OpenSSL context to themselves: no key log" },
  debianPackages: ['gstreamer1.0-plugins-bad', 'python3-gst-1.0', 'gstreamer1.0-plugins-good', 'gstreamer1.0-plugins-base', 'gstreamer1.0-nice'],
});
