/**
 * webrtc-echo on werift (npm `werift` 0.24), a WebRTC stack in plain TypeScript: no native
 * addon, so it runs wherever Node does. It echoes at packet level and its client moves raw RTP.
 */
import type { ClientEngine } from '../engine.js';
import { createWeriftClientPeer } from './client-peer.js';
import { createWeriftEchoPeer, createWeriftViewerPeer } from './echo-peer.js';
import { installWeriftKeyLog } from './key-log.js';

// DTLS keys to SSLKEYLOGFILE when it is set (matrix --capture); nothing otherwise.
installWeriftKeyLog();

export const weriftEngine: ClientEngine = {
  name: 'werift',
  capabilities: { packetEcho: true, rawRtp: true, udpMux: false, playback: true, trickle: true, iceServers: true },
  // One socket per ICE transport: an unbundled offer opens one per section.
  budget: { maxSessions: 500, fdsPerSession: 15, threadsPerSession: 0 },
  createEchoPeer: createWeriftEchoPeer,
  createViewerPeer: createWeriftViewerPeer,
  createClientPeer: createWeriftClientPeer,
};
