/** aiortc (Python): interop/peers/aiortc, on Debian's python3-aiortc 1.4. */
import { contractPeer } from './contract-peer.js';

export const aiortcPeer = contractPeer({
  name: 'aiortc',
  label: 'aiortc 1.4 (Debian)',
  serverCommand: ['interop/peers/aiortc/aiortc-server'],
  clientCommand: ['interop/peers/aiortc/aiortc-client'],
  test0ClientArgs: ['--require-echo'],
  // aiortc 1.4 gives audio-level and abs-send-time one header-extension id when it bundles
  // audio and video, then cannot parse its own RTP: clients offer it video only.
  quirks: { videoOnly: true },
  probe: ['/usr/bin/python3', '-c', 'import aiortc, aiohttp'],
  debianPackages: ['python3-aiortc', 'python3-aiohttp'],
  keyLog: { writes: true, note: "pyOpenSSL's key log callback (interop/peers/aiortc/key_log.py)" },
});
