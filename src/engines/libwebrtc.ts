/**
 * webrtc-echo on libwebrtc, Chromium's WebRTC stack, through npm `@roamhq/wrtc` (a maintained
 * fork of node-webrtc with prebuilt addons). It speaks the W3C API only: no raw RTP, so the echo
 * decodes and re-encodes media, and the client's media legs cannot send our packets.
 * Server side in libwebrtc-echo-peer.ts, client side in libwebrtc-client-peer.ts.
 */
import type { Engine } from './engine.js';
import { createLibwebrtcClientPeer } from './libwebrtc-client-peer.js';
import { createLibwebrtcEchoPeer } from './libwebrtc-echo-peer.js';

export const libwebrtcEngine: Engine = {
  name: 'libwebrtc',
  createEchoPeer: createLibwebrtcEchoPeer,
  createClientPeer: createLibwebrtcClientPeer,
};
