/**
 * RTCP feedback on real packets: a generic NACK and a PLI as pion 3.1.56 sends them, and
 * libwebrtc's (wrtc M106) receiver report + NACK compound, each captured from a session of our
 * libdatachannel client with a packet held back (cap scripts of this branch's history).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildNack, buildPli, genericNacks, keyframeRequestTargets, relayedNack, rtcpFeedbackMediaSsrc } from '../../src/rtp/rtcp.js';

/** pion-server's NACK generator asking our video for sequence number 39714. */
const PION_NACK = Buffer.from('81cd00036cb50b0207119ce19b220000', 'hex');
/** pion-server relaying our PLI about its echo to our sender (pion writes sender SSRC 0). */
const PION_PLI = Buffer.from('81ce000200000000023a2a0c', 'hex');
/** libwebrtc's echo peer: RR (one report block) then a NACK for 42154, one compound packet. */
const LIBWEBRTC_RR_NACK = Buffer.from(
  '81c9000727699657d505193d000000000000a4a900000011000000000000000081cd000327699657d505193da4aa0000',
  'hex',
);

test('reads the generic NACKs of pion and of a libwebrtc compound packet', () => {
  assert.deepEqual(genericNacks(PION_NACK), [{ senderSsrc: 0x6cb50b02, mediaSsrc: 118594785, sequences: [39714] }]);
  assert.deepEqual(genericNacks(LIBWEBRTC_RR_NACK), [{ senderSsrc: 0x27699657, mediaSsrc: 0xd505193d, sequences: [42154] }]);
  assert.equal(rtcpFeedbackMediaSsrc(PION_NACK), 118594785);
  assert.deepEqual(genericNacks(PION_PLI), [], 'a PLI is no NACK');
  assert.deepEqual(keyframeRequestTargets(PION_NACK), [], 'a NACK is no keyframe request');
});

test("reads pion's PLI as a keyframe request about our SSRC", () => {
  assert.deepEqual(keyframeRequestTargets(PION_PLI), [0x023a2a0c]);
  assert.deepEqual(keyframeRequestTargets(buildPli(1, 0x023a2a0c)), [0x023a2a0c]);
});

test('builds NACKs with as few FCI entries as the bitmask allows, and reads them back', () => {
  const single = buildNack(0x6cb50b02, 118594785, [39714]);
  assert.deepEqual(single, PION_NACK, 'byte for byte what pion sends');
  const spread = [65534, 65535, 0, 3, 14, 15, 40, 41];
  const nack = buildNack(1, 2, spread);
  // PID 65534 with its bitmask covers 65535..14 (wrapping), then PID 15, then PID 40 with 41.
  assert.equal((nack.length - 12) / 4, 3);
  assert.deepEqual(genericNacks(nack)[0]!.sequences.sort((a, b) => a - b), [...spread].sort((a, b) => a - b));
  assert.throws(() => buildNack(1, 2, []), RangeError);
});

test('relays a NACK about the echo stream as one about the client stream, same sequence numbers', () => {
  const aboutEcho = Buffer.concat([LIBWEBRTC_RR_NACK.subarray(0, 32), buildNack(0x27699657, 0xabcdef01, [100, 101, 117])]);
  const relayed = relayedNack(aboutEcho, 0xabcdef01, 0x12345678);
  assert.ok(relayed);
  assert.deepEqual(genericNacks(relayed), [{ senderSsrc: 0xabcdef01, mediaSsrc: 0x12345678, sequences: [100, 101, 117] }]);
  assert.equal(relayedNack(LIBWEBRTC_RR_NACK, 0xabcdef01, 0x12345678), undefined, 'a NACK about another stream is not ours to relay');
  assert.equal(relayedNack(PION_PLI, 0x023a2a0c, 1), undefined);
});
