/**
 * Our SCTP retransmission timer (src/engines/native/sctp-retransmission.ts) in place of werift
 * 0.24's, on real werift associations: RTO bounded to 200 ms-10 s (libdatachannel's), doubled at
 * each T3-rtx expiry (RFC 9260 §6.3.3 E2), and an expiry that resends only what the peer has not
 * reported in a gap block (E3), where werift's resends every chunk. What it changes under loss:
 * docs/performance.md, "Data channels under loss".
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Event, RTCSctpTransport, type RTCDtlsTransport } from 'werift';
import { dtlsStandIn } from '../../src/engines/native/data-channels.js';
import { replaceRetransmissionTimer, RTO_BOUNDS, type RetransmissionState } from '../../src/engines/native/sctp-retransmission.js';

interface Chunk {
  tsn: number;
  acked: boolean;
  retransmit: boolean;
  sentCount: number;
  misses: number;
  bookSize: number;
  flags: number;
  abandoned: boolean;
}

const transports: RTCSctpTransport[] = [];
// Stopped associations arm no timers: the retransmissions these tests start would go on forever.
after(async () => {
  for (const transport of transports) await transport.stop();
});

/** A fresh werift association (over a DTLS stand-in that takes every packet), with or without our timer. */
function association(ours: boolean): RetransmissionState & { sentQueue: Chunk[] } {
  const transport = new RTCSctpTransport(5000);
  transports.push(transport);
  transport.setDtlsTransport(dtlsStandIn(() => true, new Event(), 'controlled') as unknown as RTCDtlsTransport);
  const state = (transport as unknown as { sctp: RetransmissionState & { sentQueue: Chunk[] } }).sctp;
  if (ours) replaceRetransmissionTimer(state);
  return state;
}

/** Five DATA chunks in flight (one message's fragments, werift's 1,200 bytes each); the 2nd and 4th reported in gap blocks. */
function inFlight(state: RetransmissionState & { sentQueue: Chunk[] }): Chunk[] {
  const chunks = [0, 1, 2, 3, 4].map((i) => ({ tsn: 100 + i, acked: i === 1 || i === 3, retransmit: false, sentCount: 1, misses: 0, bookSize: 1_200, flags: i === 0 ? 2 : i === 4 ? 1 : 0, abandoned: false }));
  state.sentQueue = chunks;
  state.flightSize = 3 * 1_200;
  state.cwnd = 12_000;
  return chunks;
}

test('RTO: 1 s before the first sample, then SRTT + 4 RTTVAR within 200 ms and 10 s, where werift keeps 1 s at least', () => {
  const ours = association(true);
  const werifts = association(false);
  assert.equal(ours.rto, RTO_BOUNDS.initialSeconds);
  assert.equal(werifts.rto, 3, "werift's RTO.Initial");
  for (const state of [ours, werifts]) for (let i = 0; i < 5; i++) state.updateRto(0.002);
  assert.equal(ours.rto, 0.2, 'a 2 ms path: the 200 ms floor');
  assert.equal(werifts.rto, 1, "werift's 1 s floor: what a lost tail waited for");
  assert.ok(Math.abs(ours.srtt! - werifts.srtt!) < 1e-12 && Math.abs(ours.rttvar! - werifts.rttvar!) < 1e-12, 'the estimate is werift’s own');
  ours.updateRto(0.5);
  assert.ok(Math.abs(ours.rto - (ours.srtt! + 4 * ours.rttvar!)) < 1e-12 && ours.rto > 0.2, `within the bounds: ${ours.rto}`);
  for (let i = 0; i < 3; i++) ours.updateRto(40);
  assert.equal(ours.rto, 10, 'RTO.Max 10 s');
});

test('T3-rtx expiry: what the peer has not reported is resent from a window of one MTU, the RTO doubles; werift resends the gap-acked chunks too', () => {
  const ours = association(true);
  for (let i = 0; i < 5; i++) ours.updateRto(0.002);
  const chunks = inFlight(ours);
  ours.timer3Expired();
  // transmit() ran up to its first send: the earliest chunk went out at once, the rest wait for the window.
  assert.deepEqual(
    chunks.map((c) => [c.tsn, c.retransmit, c.sentCount]),
    [[100, false, 2], [101, false, 1], [102, true, 1], [103, false, 1], [104, true, 1]],
    'gap-acked chunks (101, 103) are not resent',
  );
  assert.equal(ours.cwnd, 1_200, 'one MTU of data');
  assert.equal(ours.flightSize, 1_200, 'the one chunk resent');
  assert.equal(ours.ssthresh, 6_000, 'half the window before');
  assert.equal(ours.rto, 0.4, 'doubled (RFC 9260 §6.3.3 E2)');
  ours.timer3Handle = undefined;
  for (let i = 0; i < 10; i++) ours.timer3Expired();
  assert.equal(ours.rto, 10, 'backs off up to RTO.Max');

  const werifts = association(false);
  const theirs = inFlight(werifts);
  werifts.timer3Expired();
  assert.deepEqual(theirs.filter((c) => c.acked).map((c) => c.retransmit), [true, true], "werift 0.24 marks the peer's gap-acked chunks for resending (the behaviour replaced)");
});
