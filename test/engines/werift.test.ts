/** What only the werift engine does; the promises every engine keeps are in conformance.test.ts. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { weriftEngine as engine } from '../../src/engines/werift/index.js';
import { silentLogger as log } from '../../src/log.js';
import { parseOffer } from '../../src/sdp/offer.js';
import { GATHER_TIMEOUT_MS, connectPair } from '../helpers/engine-pair.js';

test('an offer whose only codec werift does not know is refused', async () => {
  const peer = engine.createClientPeer({ audio: false, video: true, gatherTimeoutMs: GATHER_TIMEOUT_MS, log });
  const offer = await peer.createOffer();
  peer.close();
  const sdp = offer.sdp.replace(/VP8\/90000/g, 'X-UNKNOWN/90000');
  await assert.rejects(engine.createEchoPeer(parseOffer(sdp), { gatherTimeoutMs: GATHER_TIMEOUT_MS, log }), /codec/);
});

test('without a STUN server of ours, werift asks none (not its default stun.l.google.com)', async (t) => {
  // werift fills in Google's STUN server when given none; a query to it would leave the machine.
  const { client, server } = await connectPair(t, engine, engine, { dataChannel: 'echo' });
  for (const peer of [client, server]) {
    const { pc } = peer as unknown as { pc: { iceTransports: Array<{ connection: { stunServer?: unknown; localCandidates: Array<{ type: string }> } }> } };
    assert.ok(pc.iceTransports.length > 0);
    for (const { connection } of pc.iceTransports) {
      assert.equal(connection.stunServer, undefined, 'no STUN server');
      assert.deepEqual([...new Set(connection.localCandidates.map((c) => c.type))], ['host'], 'host candidates only');
    }
  }
});
