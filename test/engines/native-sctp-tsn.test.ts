/**
 * Our SACK bookkeeping (src/engines/native/sctp-tsn.ts) in place of werift 0.24's, on real werift
 * associations: TSNs in any order, with FORWARD-TSNs among them (RFC 3758), across a change in the
 * number of digits and across 2^32, give the cumulative TSN, gap blocks and duplicates RFC 9260
 * §6.2 asks for; werift's own gets the digit change wrong (the upstream bug the replacement exists for). End to end through the
 * native engine's data channels: native-data-channels.test.ts and native-session.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Event, RTCSctpTransport, type RTCDtlsTransport } from 'werift';
import { dtlsStandIn } from '../../src/engines/native/data-channels.js';
import { markReceived, receiveForwardTsn, replaceTsnTracking, sackChunk, type TsnState } from '../../src/engines/native/sctp-tsn.js';

/** A fresh werift association whose last received TSN is `last`. */
function association(last: number): TsnState {
  const transport = new RTCSctpTransport(5000);
  // werift makes its association when it gets a DTLS transport: ours, over nothing.
  transport.setDtlsTransport(dtlsStandIn(() => true, new Event(), 'controlled') as unknown as RTCDtlsTransport);
  const state = (transport as unknown as { sctp: TsnState }).sctp;
  state.lastReceivedTsn = last;
  return state;
}

/** RFC 9260 §3.3.4, read back. */
function parseSack(bytes: Buffer) {
  assert.equal(bytes[0], 3, 'a SACK chunk');
  assert.equal(bytes.readUInt16BE(2), bytes.length);
  const gaps: Array<[number, number]> = [];
  const duplicates: number[] = [];
  let at = 16;
  for (let i = 0; i < bytes.readUInt16BE(12); i++, at += 4) gaps.push([bytes.readUInt16BE(at), bytes.readUInt16BE(at + 2)]);
  for (let i = 0; i < bytes.readUInt16BE(14); i++, at += 4) duplicates.push(bytes.readUInt32BE(at));
  return { cumulativeTsn: bytes.readUInt32BE(4), advertisedRwnd: bytes.readUInt32BE(8), gaps, duplicates };
}

/**
 * What a SACK must say after receiving `offsets` (distances from `first`), from first principles;
 * `abandoned`: everything up to this offset was skipped by a FORWARD-TSN.
 */
function expected(first: number, offsets: number[], abandoned = -1) {
  const have = new Set(offsets);
  let cumulative = abandoned;
  while (have.has(cumulative + 1)) cumulative++;
  const gaps: Array<[number, number]> = [];
  for (const offset of [...have].filter((o) => o > cumulative).sort((a, b) => a - b)) {
    const gap = offset - cumulative;
    const open = gaps[gaps.length - 1];
    if (open && gap === open[1] + 1) open[1] = gap;
    else gaps.push([gap, gap]);
  }
  return { cumulativeTsn: (first + cumulative) >>> 0, gaps };
}

function sackOf(state: TsnState) {
  return parseSack(sackChunk({ cumulativeTsn: state.lastReceivedTsn, advertisedRwnd: state.advertisedRwnd, received: [...state.sackMisOrdered], duplicates: state.sackDuplicates }));
}

test('TSNs in any order, near any number including 2^32 and a change of digits, give RFC 9260 SACKs', () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.constantFrom(95, 995, 9_999_999_995, 0xffff_fffa, 0xffff_ffff).map((n) => n % 2 ** 32), fc.nat({ max: 0xffff_ffff })),
      fc.array(fc.nat({ max: 12 }), { minLength: 1, maxLength: 30 }),
      (first, offsets) => {
        const state = association((first - 1) >>> 0);
        const seen = new Set<number>();
        for (const offset of offsets) {
          const duplicate = markReceived(state, (first + offset) >>> 0);
          assert.equal(duplicate, seen.has(offset), `offset ${offset} a duplicate`);
          seen.add(offset);
          const sack = sackOf(state);
          const want = expected(first, [...seen]);
          assert.equal(sack.cumulativeTsn, want.cumulativeTsn);
          assert.deepEqual(sack.gaps, want.gaps);
        }
      },
    ),
    { numRuns: 500 },
  );
});

test('FORWARD-TSNs among the TSNs move the cumulative TSN as RFC 3758 says, near any number', () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.constantFrom(95, 995, 0xffff_fffa, 0xffff_ffff), fc.nat({ max: 0xffff_ffff })),
      fc.array(fc.oneof(fc.record({ data: fc.nat({ max: 12 }) }), fc.record({ forward: fc.nat({ max: 12 }) })), { minLength: 1, maxLength: 30 }),
      (first, events) => {
        const state = association((first - 1) >>> 0);
        const seen: number[] = [];
        let abandoned = -1;
        for (const event of events) {
          if ('data' in event) {
            markReceived(state, (first + event.data) >>> 0);
            seen.push(event.data);
          } else {
            receiveForwardTsn(state, { cumulativeTsn: (first + event.forward) >>> 0, streams: [] });
            abandoned = Math.max(abandoned, event.forward);
            assert.equal(state.sackNeeded, true, 'a FORWARD-TSN is answered');
          }
          const sack = sackOf(state);
          const want = expected(first, seen, abandoned);
          assert.equal(sack.cumulativeTsn, want.cumulativeTsn);
          assert.deepEqual(sack.gaps, want.gaps);
        }
      },
    ),
    { numRuns: 500 },
  );
});

test("a FORWARD-TSN past a change of digits: werift's own stops short, ours takes what it holds beyond", () => {
  const theirs = association(97);
  const ours = association(97);
  for (const tsn of [100, 99]) {
    theirs.markReceived(tsn);
    markReceived(ours, tsn);
  }
  const forward = { cumulativeTsn: 98, streams: [] as Array<[number, number]> };
  theirs.receiveForwardTsnChunk(forward);
  receiveForwardTsn(ours, forward);
  assert.equal(ours.lastReceivedTsn, 100);
  assert.equal(theirs.lastReceivedTsn, 98, 'werift 0.24 sorts [100, 99] as strings and stops at 98');
});

test("a FORWARD-TSN skips an ordered stream's sequence numbers in werift's reassembly", () => {
  const state = association(10);
  const stream = state.getInboundStream(1);
  receiveForwardTsn(state, { cumulativeTsn: 20, streams: [[1, 0xffff]] });
  assert.equal(stream.streamSequenceNumber, 0, 'the next expected is one past the last skipped, mod 2^16');
  assert.equal(state.lastReceivedTsn, 20);
});

test('duplicates are reported once and forgotten once the cumulative TSN passes them (werift behaviour)', () => {
  const state = association(99);
  assert.equal(markReceived(state, 100), false);
  assert.equal(markReceived(state, 102), false);
  assert.equal(markReceived(state, 100), true);
  assert.equal(markReceived(state, 102), true);
  assert.deepEqual(sackOf(state).duplicates, [100, 102]);
  assert.deepEqual(sackOf(state).gaps, [[2, 2]]);
  assert.equal(markReceived(state, 101), false);
  // 100 is behind the cumulative TSN now (102); so is 102.
  assert.equal(state.lastReceivedTsn, 102);
  assert.deepEqual(state.sackDuplicates, []);
});

test("werift's own bookkeeping stalls for good across 99 -> 100 when 100 comes first; ours does not (the upstream bug)", () => {
  const theirs = association(98);
  const ours = association(98);
  for (const tsn of [100, 99, 101, 102]) {
    theirs.markReceived(tsn);
    markReceived(ours, tsn);
  }
  assert.equal(ours.lastReceivedTsn, 102);
  // werift sorts [100, 99, ...] as strings: "99" comes after every later TSN, so the cumulative TSN never passes 98.
  assert.equal(theirs.lastReceivedTsn, 98, 'werift 0.24 never acknowledges 99 and on cumulatively');
});

test('replaceTsnTracking: the association sends our SACK once, then clears what it reported', async () => {
  const state = association(0xffff_fffe);
  const sent: Array<{ type: number; bytes: Buffer }> = [];
  state.sendChunk = async (chunk) => {
    sent.push(chunk);
  };
  replaceTsnTracking(state);
  state.markReceived(0xffff_ffff);
  state.markReceived(1);
  state.markReceived(1);
  state.sackNeeded = true;
  await state.sendSack();
  await state.sendSack();
  assert.equal(sent.length, 1, 'nothing more is due after one');
  const sack = parseSack(sent[0]!.bytes);
  assert.equal(sack.cumulativeTsn, 0xffff_ffff);
  assert.deepEqual(sack.gaps, [[2, 2]], 'TSN 1 is two past 2^32 - 1');
  assert.deepEqual(sack.duplicates, [1]);
  assert.equal(state.sackNeeded, false);
  assert.deepEqual(state.sackDuplicates, []);
});
