/**
 * Sub-checks: the stderr line protocol and JSON the matrix reads from every client, the first
 * failure a cell names, and the SDP readings behind them (DTLS roles, max-message-size, feedback).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { messageSizeToSend } from '../../src/client/data-channel-probes.js';
import { checksFromJson, firstFailure, formatCheckLine, parseCheckLines, SubChecks, SUB_CHECK_NAMES } from '../../src/client/sub-checks.js';
import { checkDtlsRole } from '../../src/client/transport-checks.js';
import { dtlsRoles, maxMessageSize, mediaSection, negotiatesFeedback } from '../../src/sdp/negotiated.js';

function sdp(...lines: string[]): string {
  return ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', ...lines, ''].join('\r\n');
}
const offer = sdp('m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=mid:0', 'a=setup:actpass', 'a=sctp-port:5000', 'a=max-message-size:262144');

test('reads the check lines of a foreign client from anywhere in its stderr, ignoring what it does not know', () => {
  const stderr = [
    'offer_ms 12',
    'check dtls-role pass we are the DTLS client (offer actpass, answer passive)',
    'check max-message-size fail a 65536-byte message did not come back within 3 s',
    'check dc-binary n/a',
    'check warp-drive pass not a sub-check',
    'check dc-empty-string maybe unknown status',
    '  check nack pass packet 7 came back  ',
    'check dtls-role fail printed twice: the last counts',
    'ok test 1',
  ].join('\n');
  const checks = parseCheckLines(stderr);
  assert.deepEqual(checks.map((c) => `${c.name} ${c.status}`), ['dtls-role fail', 'max-message-size fail', 'dc-binary n/a', 'nack pass']);
  assert.equal(checks[1]!.detail, 'a 65536-byte message did not come back within 3 s');
  assert.equal(checks[2]!.detail, '');
  assert.equal(checks[3]!.detail, 'packet 7 came back');
});

test('writes one line per check, which reads back the same', () => {
  const check = { name: 'nack' as const, status: 'fail' as const, detail: 'packet 1234 not resent\nwithin 1 s' };
  assert.equal(formatCheckLine(check), 'check nack fail packet 1234 not resent within 1 s');
  assert.deepEqual(parseCheckLines(formatCheckLine(check)), [{ ...check, detail: 'packet 1234 not resent within 1 s' }]);
});

test('takes checks from JSON, in the canonical order, and names the first failure in that order', () => {
  const checks = checksFromJson([
    { name: 'pli-keyframe', status: 'fail', detail: 'no keyframe' },
    { name: 'dtls-role', status: 'pass', detail: 'ok' },
    { name: 'nack', status: 'fail', detail: 'not resent' },
    { name: 'bogus', status: 'pass' },
    'not an object',
  ]);
  assert.deepEqual(checks?.map((c) => c.name), ['dtls-role', 'nack', 'pli-keyframe']);
  assert.equal(firstFailure(checks)?.name, 'nack');
  assert.equal(firstFailure([]), undefined);
  assert.equal(checksFromJson(undefined), undefined);
  assert.equal(new Set(SUB_CHECK_NAMES).size, SUB_CHECK_NAMES.length);
});

test('DTLS roles from a=setup: the answerer active is the client, and every way an answer leaves no client or no server', () => {
  assert.deepEqual(dtlsRoles(offer, sdp('m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=setup:active')), {
    offerSetup: 'actpass', answerSetup: 'active', offerer: 'server', answerer: 'client',
  });
  assert.equal(dtlsRoles(offer, sdp('a=setup:passive', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel')).offerer, 'client', 'a session-level a=setup counts');
  assert.match(dtlsRoles(offer, sdp('m=application 9 UDP/DTLS/SCTP x', 'a=setup:actpass')).problem!, /actpass/);
  assert.match(dtlsRoles(offer, sdp('m=application 9 UDP/DTLS/SCTP x')).problem!, /no a=setup/);
  const activeOffer = sdp('m=application 9 UDP/DTLS/SCTP x', 'a=setup:active');
  assert.match(dtlsRoles(activeOffer, activeOffer).problem!, /both sides active: two DTLS clients/);
});

test('the dtls-role check: the stack agreeing, disagreeing, and a handshake that never finished', () => {
  const answer = sdp('m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=setup:passive');
  const facts = (role: 'client' | 'server') => ({
    dtlsRole: { known: true as const, value: role },
    srtpProfile: { known: false as const, why: '-' },
    sctpZeroChecksum: { known: false as const, why: '-' },
    sctpMaxMessageSize: { known: false as const, why: '-' },
  });
  const run = (f: ReturnType<typeof facts> | undefined, progress = { iceConnected: true, connected: true }) => {
    const checks = new SubChecks();
    checkDtlsRole(offer, answer, f, progress, checks);
    return checks.list()[0]!;
  };
  assert.equal(run(facts('client')).status, 'pass');
  assert.match(run(facts('client')).detail, /we are the DTLS client.*our stack says client/);
  assert.match(run(facts('server')).detail, /SDP makes us the DTLS client .* but our stack took server/);
  assert.equal(run(facts('server')).status, 'fail');
  const stalled = run(undefined, { iceConnected: true, connected: false });
  assert.equal(stalled.status, 'fail');
  assert.match(stalled.detail, /ICE connected but the DTLS handshake did not complete/);
  assert.equal(run(undefined, { iceConnected: false, connected: false }).status, 'n/a');
});

test('max-message-size: declared, the 64 KiB default, 0 for any size, and the size a client sends', () => {
  assert.deepEqual(maxMessageSize(offer), { size: 262144, declared: true });
  assert.deepEqual(maxMessageSize(sdp('m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=sctp-port:5000')), { size: 65536, declared: false });
  assert.equal(maxMessageSize(sdp('m=audio 9 UDP/TLS/RTP/SAVPF 111')), undefined);
  const unlimited = sdp('m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=max-message-size:0');
  const known = (value: number) => ({ known: true as const, value });
  assert.equal(messageSizeToSend(offer, unlimited, { known: false, why: '-' }).size, 262144, 'our offer limits it');
  assert.equal(messageSizeToSend(unlimited, unlimited, { known: false, why: '-' }).size, 256 * 1024, 'our cap when nobody limits it');
  const pionAnswer = sdp('m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=sctp-port:5000');
  const chosen = messageSizeToSend(offer, pionAnswer, known(65536));
  assert.equal(chosen.size, 65536);
  assert.match(chosen.why, /answer \(none: 64 KiB\) 65536, offer 262144, our stack 65536, cap 262144/);
});

test("feedback: pion's `a=rtcp-fb:96 nack ` with its trailing space is plain nack", () => {
  const pion = sdp('m=video 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:1', 'a=rtpmap:96 VP8/90000', 'a=rtcp-fb:96 nack ', 'a=rtcp-fb:96 nack pli');
  const section = mediaSection(pion, 'video');
  assert.equal(negotiatesFeedback(section, 'VP8', 'nack'), true);
  assert.equal(negotiatesFeedback(section, 'vp8', 'nack', 'pli'), true);
  assert.equal(negotiatesFeedback(section, 'VP8', 'ccm', 'fir'), false);
  const wildcard = sdp('m=video 9 UDP/TLS/RTP/SAVPF 96', 'a=rtpmap:96 VP8/90000', 'a=rtcp-fb:* nack');
  assert.equal(negotiatesFeedback(mediaSection(wildcard, 'video'), 'VP8', 'nack'), true);
  assert.equal(negotiatesFeedback(mediaSection(wildcard, 'video'), 'H264', 'nack'), false, 'not for a codec the section does not have');
});

test('mid-extension on real echoed packets: the mid under the negotiated id, some without it (fine), another id or value (not)', async () => {
  const { checkMid } = await import('../../src/client/media-probes.js');
  // libwebrtc's echo: mid "0" under id 1 (one-byte form), and a later packet without it.
  const withMid = Buffer.from('90606a4a16719d0c1e5432cfbede0001103000009080aed3d04f009d012a4001f0003947000f1c22', 'hex');
  const without = Buffer.from('80606a4b16719d0c1e5432cf9080aed3d04f', 'hex');
  const withMidOne = Buffer.from('90606a4a16719d0c1e5432cfbede0001103100009080aed3', 'hex'); // mid "1"
  const answer = sdp('m=video 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:0', 'a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid', 'a=rtpmap:96 VP8/90000');
  const run = (samples: Buffer[], answerSdp = answer) => {
    const checks = new SubChecks();
    checkMid([{ leg: { kind: 'video' }, samples } as never], answerSdp, checks);
    return checks.list()[0]!;
  };
  assert.equal(run([withMid, withMid]).status, 'pass');
  const stopped = run([withMid, without, without]);
  assert.equal(stopped.status, 'pass', 'a sender may stop writing it once the SSRC is known');
  assert.match(stopped.detail, /1 of 3 echoed packets carry mid "0" \(id 1\), 2 without it/);
  const wrong = run([withMid, withMidOne]);
  assert.equal(wrong.status, 'fail');
  assert.match(wrong.detail, /1 with mid "1"/);
  const otherId = run([withMid], sdp('m=video 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:0', 'a=extmap:2 urn:ietf:params:rtp-hdrext:sdes:mid', 'a=rtpmap:96 VP8/90000'));
  assert.equal(otherId.status, 'fail', 'under another id than the answer gave it (Janus with werift)');
  assert.match(otherId.detail, /0 of 1 echoed packets carry mid "0" \(id 2\), 1 without it \(they carry id 1 = "0"\)/);
  assert.equal(run([withMid], sdp('m=video 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:0', 'a=rtpmap:96 VP8/90000')).status, 'n/a');
});
