/**
 * webrtc-echo on libwebrtc, Chromium's WebRTC stack, through npm `@roamhq/wrtc` (a maintained
 * fork of node-webrtc with prebuilt addons). It speaks the W3C API only: no raw RTP, so the echo
 * decodes and re-encodes media, and the client sends its own encoding of generated media.
 */
import type { ClientEngine } from '../engine.js';
import { createLibwebrtcClientPeer } from './client-peer.js';
import { createLibwebrtcEchoPeer } from './echo-peer.js';

export const libwebrtcEngine: ClientEngine = {
  name: 'libwebrtc',
  capabilities: { packetEcho: false, rawRtp: false, udpMux: false, playback: false, trickle: true, iceServers: true },
  // Every media section gets threads and sockets of its own (a 16-section offer: 271 fds, 31 threads).
  budget: { maxSessions: 50, fdsPerSession: 271, threadsPerSession: 31 },
  createEchoPeer: createLibwebrtcEchoPeer,
  createClientPeer: createLibwebrtcClientPeer,
};
