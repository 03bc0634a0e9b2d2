/**
 * Which of the answer's candidates our libdatachannel client adds first (the others go in one
 * Ta later): the best one of an address family it has a candidate of. Measured cause: our
 * native server announces ::1 before 127.0.0.1, and a client bound to 127.0.0.1 got nothing to
 * check for 50 ms (docs/performance.md, "Our client and an IPv6 candidate first").
 * Run: node --import tsx --test test/engines/libdatachannel-answer-candidates.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firstCandidateFirst } from '../../src/engines/libdatachannel/client-peer.js';

const candidate = (priority: number, address: string, port = 40000) => ({ candidate: `candidate:1 1 udp ${priority} ${address} ${port} typ host`, mid: '0' });
// As our native server answers on loopback: IPv6 first (RFC 8421), the same port.
const ANSWER = [candidate(2130706175, '127.0.0.1'), candidate(2130706431, '::1')];

test('an IPv4-only client (bound to 127.0.0.1) adds the answer\'s IPv4 candidate first, then the rest', () => {
  const ours = [candidate(2114977791, '127.0.0.1', 50000)];
  assert.deepEqual(firstCandidateFirst(ANSWER, ours).map((c) => c.candidate.split(' ')[4]), ['127.0.0.1', '::1']);
});

test('a dual-stack client, or one whose candidates are unknown, adds the best by priority first', () => {
  const ours = [candidate(2116026111, 'fd00::2', 50000), candidate(2114977791, '192.0.2.2', 50000)];
  assert.deepEqual(firstCandidateFirst(ANSWER, ours).map((c) => c.candidate.split(' ')[4]), ['::1', '127.0.0.1']);
  assert.deepEqual(firstCandidateFirst(ANSWER, []).map((c) => c.candidate.split(' ')[4]), ['::1', '127.0.0.1']);
});

test('an IPv6-only client skips IPv4; an mDNS name counts as reachable; nothing reachable keeps the priority order', () => {
  const v6 = [candidate(2116026111, '::1', 50000)];
  const answer = [candidate(2130706431, '192.0.2.9'), candidate(100, '::1')];
  assert.deepEqual(firstCandidateFirst(answer, v6).map((c) => c.candidate.split(' ')[4]), ['::1', '192.0.2.9']);
  const mdns = [candidate(2130706431, '0b0c0d0e-1111-2222-3333-444455556666.local'), candidate(5, '127.0.0.1')];
  assert.equal(firstCandidateFirst(mdns, v6)[0]!.candidate.split(' ')[4], '0b0c0d0e-1111-2222-3333-444455556666.local');
  const onlyV4 = [candidate(9, '192.0.2.9'), candidate(10, '192.0.2.10')];
  assert.deepEqual(firstCandidateFirst(onlyV4, v6).map((c) => c.candidate.split(' ')[4]), ['192.0.2.10', '192.0.2.9']);
});
