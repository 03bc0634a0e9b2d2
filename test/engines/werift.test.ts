/** What only the werift engine does; the promises every engine keeps are in conformance.test.ts. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { weriftEngine as engine } from '../../src/engines/werift/index.js';
import { silentLogger as log } from '../../src/log.js';
import { GATHER_TIMEOUT_MS } from '../helpers/engine-pair.js';

test('an offer whose only codec werift does not know is refused', async () => {
  const peer = engine.createClientPeer({ audio: false, video: true, gatherTimeoutMs: GATHER_TIMEOUT_MS, log });
  const offer = await peer.createOffer();
  peer.close();
  const sdp = offer.sdp.replace(/VP8\/90000/g, 'X-UNKNOWN/90000');
  await assert.rejects(engine.createEchoPeer({ type: 'offer', sdp }, { gatherTimeoutMs: GATHER_TIMEOUT_MS, log }), /codec/);
});
