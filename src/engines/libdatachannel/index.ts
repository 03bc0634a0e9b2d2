/**
 * The libdatachannel engine (npm node-datachannel, libdatachannel 0.24): a C++ stack, the
 * default. It echoes at packet level and its client moves raw RTP.
 */
import type { ClientEngine } from '../engine.js';
import { createLibdatachannelClientPeer } from './client-peer.js';
import { createLibdatachannelEchoPeer, createLibdatachannelViewerPeer } from './echo-peer.js';

export const libdatachannelEngine: ClientEngine = {
  name: 'libdatachannel',
  capabilities: { packetEcho: true, rawRtp: true, udpMux: true, playback: true, trickle: true, iceServers: true },
  // Every session runs on libdatachannel's shared thread pool, with one UDP socket.
  budget: { maxSessions: 1000, fdsPerSession: 1, threadsPerSession: 0 },
  createEchoPeer: createLibdatachannelEchoPeer,
  createViewerPeer: createLibdatachannelViewerPeer,
  createClientPeer: createLibdatachannelClientPeer,
};
