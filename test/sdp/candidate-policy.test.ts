/** The remote candidate policy as a pure function (src/sdp/candidate-policy.ts), on real offers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyCandidatePolicy, candidatePolicy, isLoopbackHost, judgeAddress, parseCidrList } from '../../src/sdp/candidate-policy.js';
import { parseOffer } from '../../src/sdp/offer.js';
import { realOffer } from '../helpers/offer-shapes.js';

const open = candidatePolicy({ listenHost: '127.0.0.1' });
const publicServer = candidatePolicy({ listenHost: '0.0.0.0' });

test('multicast, broadcast, unspecified and non-address candidates are refused whatever the options', () => {
  const everything = candidatePolicy({ listenHost: '127.0.0.1', allow: parseCidrList('0.0.0.0/0,::/0') });
  for (const [address, reason] of [
    ['224.0.0.251', 'multicast'], ['239.1.2.3', 'multicast'], ['ff02::fb', 'multicast'], ['ff0e::1', 'multicast'],
    ['255.255.255.255', 'broadcast'], ['0.0.0.0', 'unspecified'], ['::', 'unspecified'], ['::ffff:224.0.0.1', 'multicast'],
    ['attacker.example', 'not-an-address'], ['2130706433', 'not-an-address'], ['0x7f.1', 'not-an-address'], ['127.1', 'not-an-address'], ['', 'not-an-address'],
  ] as const) {
    assert.equal(judgeAddress(address, everything), reason, address);
    assert.equal(judgeAddress(address, publicServer), reason, address);
  }
});

test('loopback and link-local are refused when the server listens on a non-loopback address, and taken when it listens on loopback', () => {
  assert.equal(isLoopbackHost('127.0.0.1'), true);
  assert.equal(isLoopbackHost('::1'), true);
  assert.equal(isLoopbackHost('localhost'), true);
  assert.equal(isLoopbackHost('0.0.0.0'), false);
  assert.equal(isLoopbackHost('192.0.2.2'), false);
  for (const [address, reason] of [['127.0.0.1', 'loopback'], ['127.8.9.10', 'loopback'], ['::1', 'loopback'], ['::ffff:127.0.0.1', 'loopback'], ['169.254.7.7', 'link-local'], ['fe80::1', 'link-local'], ['fe80::1%eth0', 'link-local']] as const) {
    assert.equal(judgeAddress(address, publicServer), reason, address);
    assert.equal(judgeAddress(address, open), undefined, address);
  }
  for (const address of ['192.0.2.2', '10.1.2.3', '192.168.1.1', 'fd00::2', '2001:db8::1', '203.0.113.9']) {
    assert.equal(judgeAddress(address, publicServer), undefined, address);
  }
});

test('--candidate-deny refuses its ranges (IPv4-mapped IPv6 included); --candidate-allow takes only its ranges, loopback too when listed', () => {
  const deny = candidatePolicy({ listenHost: '0.0.0.0', deny: parseCidrList('10.0.0.0/8, 192.168.0.0/16,fd00::/8') });
  assert.equal(judgeAddress('10.9.9.9', deny), 'denied');
  assert.equal(judgeAddress('::ffff:10.9.9.9', deny), 'denied');
  assert.equal(judgeAddress('fd00::2', deny), 'denied');
  assert.equal(judgeAddress('172.16.0.1', deny), undefined);
  const allow = candidatePolicy({ listenHost: '0.0.0.0', allow: parseCidrList('192.0.2.0/24,127.0.0.1'), deny: parseCidrList('192.0.2.66') });
  assert.equal(judgeAddress('192.0.2.2', allow), undefined);
  assert.equal(judgeAddress('127.0.0.1', allow), undefined, 'listed loopback is taken on a public server');
  assert.equal(judgeAddress('127.0.0.2', allow), 'not-allowed');
  assert.equal(judgeAddress('192.0.2.66', allow), 'denied', 'deny wins over allow');
  assert.equal(judgeAddress('fd00::2', allow), 'not-allowed');
  assert.throws(() => parseCidrList('10.0.0.0/33'));
  assert.throws(() => parseCidrList('example.com'));
});

test('refused candidates are taken out of a real offer, with a=end-of-candidates; everything else is kept byte for byte', () => {
  // libwebrtc offers loopback candidates (IPv4 and IPv6, UDP and TCP) beside the machine's own.
  const offer = realOffer('libwebrtc-datachannel').sdp;
  assert.equal(applyCandidatePolicy(parseOffer(offer), open).offer.sdp, offer, 'nothing refused: the same string');
  const { offer: { sdp }, dropped } = applyCandidatePolicy(parseOffer(offer), publicServer);
  assert.deepEqual(dropped.map((d) => `${d.address} ${d.reason}`).sort(), ['127.0.0.1 loopback', '127.0.0.1 loopback', '::1 loopback', '::1 loopback']);
  assert.deepEqual(
    sdp.split('\r\n'),
    offer.split('\r\n').filter((line) => !/^a=candidate:\S+ \d \S+ \d+ (127\.0\.0\.1|::1) /.test(line)),
  );
  const libdatachannel = realOffer('libdatachannel-datachannel').sdp;
  assert.match(libdatachannel, /^a=end-of-candidates/m);
  const denied = applyCandidatePolicy(parseOffer(libdatachannel), candidatePolicy({ listenHost: '127.0.0.1', deny: parseCidrList('0.0.0.0/0,::/0') }));
  assert.deepEqual(denied.offer.sdp.split('\r\n'), libdatachannel.split('\r\n').filter((line) => !/^a=(candidate|end-of-candidates)/.test(line)));
  const lf = offer.replaceAll('\r\n', '\n');
  assert.equal(applyCandidatePolicy(parseOffer(lf), publicServer).offer.sdp, sdp.replaceAll('\r\n', '\n'), 'LF-only SDP keeps its endings');
});
