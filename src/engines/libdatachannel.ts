/**
 * The libdatachannel engine (npm node-datachannel): a C++ stack, the default for serving.
 * The echo peer is in libdatachannel-echo.ts, the client peer in libdatachannel-client.ts.
 */
import type { Engine } from './engine.js';
import { createLibdatachannelClientPeer } from './libdatachannel-client.js';
import { createLibdatachannelEchoPeer } from './libdatachannel-echo.js';

export const libdatachannelEngine: Engine = {
  name: 'libdatachannel',
  createEchoPeer: createLibdatachannelEchoPeer,
  createClientPeer: createLibdatachannelClientPeer,
};
