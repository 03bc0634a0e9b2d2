/**
 * webrtc-echo on werift (npm `werift`), a WebRTC stack in plain TypeScript: no native addon,
 * so it runs wherever Node does. Server side in werift-echo-peer.ts, client side in
 * werift-client-peer.ts, what both share in werift-common.ts.
 */
import type { Engine } from './engine.js';
import { createWeriftClientPeer } from './werift-client-peer.js';
import { createWeriftEchoPeer } from './werift-echo-peer.js';

export const weriftEngine: Engine = {
  name: 'werift',
  createEchoPeer: createWeriftEchoPeer,
  createClientPeer: createWeriftClientPeer,
};
