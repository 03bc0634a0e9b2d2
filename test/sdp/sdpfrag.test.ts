/**
 * PATCH bodies (RFC 8840 fragments, src/sdp/sdpfrag.ts and sdpfrag-writer.ts), If-Match
 * (src/echo/entity-tag.ts) and Link ice-server headers (src/net/link-header.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EchoError } from '../../src/errors/echo-error.js';
import { ifMatchSatisfied } from '../../src/echo/entity-tag.js';
import { iceServerLinks, iceServersFromLinks } from '../../src/net/link-header.js';
import { fragmentCandidates, parseTrickleFragment } from '../../src/sdp/sdpfrag.js';
import { writeTrickleFragment } from '../../src/sdp/sdpfrag-writer.js';

const OFFER = ['v=0', 'o=- 1 1 IN IP4 0.0.0.0', 's=-', 't=0 0', 'a=group:BUNDLE 0 1', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:0', 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:1', ''].join('\r\n');
const candidate = (port: number, mid = '0') => ({ candidate: `candidate:1 1 udp 2122260223 192.0.2.1 ${port} typ host`, mid });

test('a fragment written for an offer reads back: credentials, the first section\'s candidates, end-of-candidates', () => {
  const body = writeTrickleFragment(OFFER, { ufrag: 'EsAw', pwd: 'P2uYro0UCOQ4zxjKXaWCBui1', candidates: [candidate(61764), candidate(61765), candidate(9, '1')], end: true });
  assert.match(body, /^a=group:BUNDLE 0 1\r\nm=audio 9 UDP\/TLS\/RTP\/SAVPF 111\r\na=mid:0\r\n/);
  const fragment = parseTrickleFragment(body, 64);
  assert.deepEqual([fragment.ufrag, fragment.pwd, fragment.endOfCandidates], ['EsAw', 'P2uYro0UCOQ4zxjKXaWCBui1', true]);
  assert.deepEqual(fragmentCandidates(fragment.asOffer).map((c) => [c.mid, c.key]), [['0', '1 udp 192.0.2.1 61764'], ['0', '1 udp 192.0.2.1 61765']], 'bundled: the first section\'s only');
});

test('fragments that cannot be used are 400s (or the candidate limit\'s 422), with the reason', () => {
  const code = (body: string, max = 64) => {
    try {
      parseTrickleFragment(body, max);
      return 'accepted';
    } catch (err) {
      return err instanceof EchoError ? err.code : String(err);
    }
  };
  assert.equal(code(''), 'ECHO_ERR_INVALID_SDPFRAG');
  assert.equal(code('hello\r\n'), 'ECHO_ERR_INVALID_SDPFRAG');
  assert.equal(code('a=candidate:1 1 udp 1 192.0.2.1 1 typ host\r\n'), 'ECHO_ERR_INVALID_SDPFRAG', 'a candidate outside any section');
  assert.equal(code('m=audio 9 RTP/AVP 0\r\na=candidate:1 1 udp 1 192.0.2.1 1 typ host\r\n'), 'ECHO_ERR_INVALID_SDPFRAG', 'no a=mid');
  assert.equal(code('a=ice-ufrag:x\r\n'), 'ECHO_ERR_INVALID_SDPFRAG', 'ufrag without pwd');
  assert.equal(code('a=end-of-candidates\0\r\n'), 'ECHO_ERR_INVALID_SDP_CHARACTERS');
  const many = writeTrickleFragment(OFFER, { ufrag: 'u', pwd: 'p', candidates: [1, 2, 3].map((p) => candidate(p)), end: false });
  assert.equal(code(many, 2), 'ECHO_ERR_TOO_MANY_CANDIDATES');
  assert.equal(code('a=end-of-candidates\r\n'), 'accepted', 'only the end of candidates');
});

test('If-Match compares strongly: the tag, a list naming it, or *; never a weak tag', () => {
  assert.ok(ifMatchSatisfied('"abc"', '"abc"'));
  assert.ok(ifMatchSatisfied('"x", "abc"', '"abc"'));
  assert.ok(ifMatchSatisfied(' * ', '"abc"'));
  assert.ok(!ifMatchSatisfied('W/"abc"', '"abc"'));
  assert.ok(!ifMatchSatisfied('"abcd"', '"abc"'));
});

test('Link ice-server headers: written and read back, credentials quoted, several joined by commas as fetch joins them', () => {
  const servers = [{ urls: 'stun:stun.example.net' }, { urls: 'turn:turn.example.net?transport=udp', username: 'us,er', credential: 'p"a;ss' }];
  const links = iceServerLinks(servers);
  assert.equal(links[1], '<turn:turn.example.net?transport=udp>; rel="ice-server"; username="us,er"; credential="p\\"a;ss"; credential-type="password"');
  assert.deepEqual(iceServersFromLinks(links.join(', ')), servers);
  assert.deepEqual(iceServersFromLinks('<https://example.net/sse>; rel="urn:ietf:params:whip:ext:example:server-sent-events"'), [], 'other relations are ignored');
});
