/**
 * The native engine's answer (src/engines/native/answer.ts) for the real offers of every stack
 * in testdata/offers (Chromium, pion, aiortc, GStreamer, libdatachannel, werift, libwebrtc), and
 * for the shapes that decide what is accepted. That real stacks take the answer is shown by
 * native-session.test.ts and native-ice.test.ts, which connect with it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import sdpTransform from 'sdp-transform';
import { buildAnswer, DEFAULT_MAX_MESSAGE_SIZE, UnanswerableOffer, type AnswerInput } from '../../src/engines/native/answer.js';
import { stackPolicy } from '../../src/engines/native/stack-policy.js';
import { hostCandidates } from '../../src/ice/candidates.js';
import { MID_EXTENSION_URI } from '../../src/rtp/header-extensions.js';
import { announcePublicAddresses } from '../../src/sdp/public-address.js';
import { ROOT } from '../helpers/cli.js';
import { realOffer } from '../helpers/offer-shapes.js';

const ICE = { ufrag: 'Ab3+', pwd: 'abcdefghijklmnopqrstuvwx' };
const FINGERPRINT = { algorithm: 'sha-256', value: 'AB:CD:EF' };
const CANDIDATES = hostCandidates([{ socket: 1, local: { address: '::', port: 50000 } }], {
  lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true, netmask: '', mac: '', cidr: null }],
  eth0: [
    { address: '192.0.2.2', family: 'IPv4', internal: false, netmask: '', mac: '', cidr: null },
    { address: 'fd00::2', family: 'IPv6', internal: false, netmask: '', mac: '', cidr: null, scopeid: 0 },
    { address: 'fe80::1', family: 'IPv6', internal: false, netmask: '', mac: '', cidr: null, scopeid: 2 },
  ],
});

function answer(offerSdp: string, extra: Partial<AnswerInput> = {}) {
  const offer = sdpTransform.parse(offerSdp);
  const built = buildAnswer({ offer, ice: ICE, candidates: CANDIDATES, fingerprint: FINGERPRINT, dtlsRole: stackPolicy(offer).dtlsRole, ...extra });
  return { built, offer, parsed: sdpTransform.parse(built.sdp) };
}

const NOT_ECHOED = /^(rtx|red|ulpfec|flexfec(-03)?)$/i;

test('host candidates: every non-loopback, non-link-local interface address of the bound families, IPv6 first; loopback only when alone', () => {
  assert.deepEqual(CANDIDATES.map((c) => `${c.address} ${c.port}`), ['fd00::2 50000', '192.0.2.2 50000']);
  assert.ok(CANDIDATES[0]!.priority > CANDIDATES[1]!.priority);
  const loopbackOnly = hostCandidates([{ socket: 1, local: { address: '0.0.0.0', port: 9 } }], { lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true, netmask: '', mac: '', cidr: null }] });
  assert.deepEqual(loopbackOnly.map((c) => c.address), ['127.0.0.1']);
  assert.deepEqual(hostCandidates([{ socket: 3, local: { address: '::1', port: 7 } }]).map((c) => [c.socket, c.address, c.port]), [[3, '::1', 7]]);
});

for (const file of readdirSync(`${ROOT}testdata/offers`)) {
  const name = file.replace(/\.json$/, '');
  test(`the answer to a real ${name} offer`, () => {
    const { built, offer, parsed } = answer(realOffer(name).sdp);
    const bundle = (offer.groups ?? []).find((g) => g.type === 'BUNDLE');
    const accepted = parsed.media.filter((m) => m.port !== 0);
    assert.ok(accepted.length > 0);
    const answeredBundle = parsed.groups?.find((g) => g.type === 'BUNDLE');
    assert.equal(answeredBundle && String(answeredBundle.mids), bundle ? accepted.map((m) => String(m.mid)).join(' ') : undefined);
    assert.equal(parsed.media.length, offer.media.length, 'one answer section per offer section, in order');
    assert.equal(parsed.icelite, undefined, 'a full agent');
    const role = offer.origin.username === 'rtc' ? 'passive' : 'active';
    assert.equal(built.dtlsRole, role === 'active' ? 'client' : 'server');
    parsed.media.forEach((m, i) => {
      const o = offer.media[i]!;
      assert.equal(m.type, o.type);
      assert.equal(String(m.mid), String(o.mid));
      if (m.port === 0) return;
      assert.equal(m.iceUfrag, ICE.ufrag);
      assert.equal(m.icePwd, ICE.pwd);
      assert.deepEqual(m.fingerprint, { type: 'sha-256', hash: 'AB:CD:EF' });
      assert.equal(m.setup, role);
      assert.equal((m.candidates ?? []).length, i === parsed.media.indexOf(accepted[0]!) ? CANDIDATES.length : 0, 'candidates once, in the first section of the bundle');
      if (m.type === 'application') {
        assert.equal(m.protocol, o.protocol);
        assert.equal(m.maxMessageSize, Math.min(DEFAULT_MAX_MESSAGE_SIZE, o.maxMessageSize ?? 65536));
        assert.equal(built.dataChannel?.maxMessageSize, m.maxMessageSize);
        assert.ok(m.sctpPort === 5000 || m.sctpmap?.sctpmapNumber === 5000);
        return;
      }
      assert.equal(m.rtcpMux, 'rtcp-mux');
      assert.equal(m.direction, 'sendrecv');
      const offeredCodecs = new Map(o.rtp.map((r) => [r.payload, r.codec]));
      const payloads = String(m.payloads).split(' ').map(Number);
      assert.ok(payloads.length > 0);
      for (const pt of payloads) {
        assert.ok(offeredCodecs.has(pt) || pt < 35, `payload type ${pt} was offered`);
        assert.doesNotMatch(offeredCodecs.get(pt) ?? '', NOT_ECHOED);
      }
      for (const [pt, codec] of offeredCodecs) if (!NOT_ECHOED.test(codec)) assert.ok(payloads.includes(pt), `${codec}/${pt} kept`);
      for (const fb of m.rtcpFb ?? []) assert.match(`${fb.type} ${fb.subtype ?? ''}`.trim(), /^(nack|nack pli|ccm fir)$/);
      const offeredMid = o.ext?.find((e) => e.uri === MID_EXTENSION_URI);
      assert.deepEqual(m.ext?.map((e) => [e.value, e.uri]) ?? [], offeredMid ? [[offeredMid.value, MID_EXTENSION_URI]] : []);
      const section = built.sections.find((s) => s.mid === String(m.mid));
      assert.ok(section, 'the data plane echoes this section');
      assert.deepEqual(section.payloadTypes, payloads);
      assert.deepEqual(m.ssrcs?.map((s) => [s.id, s.attribute]), [
        [section.echoSsrc, 'cname'],
        [section.echoSsrc, 'msid'],
      ]);
      assert.ok(!section.offeredSsrcs.includes(section.echoSsrc));
      assert.deepEqual(section.offeredSsrcs, [...new Set((o.ssrcs ?? []).map((s) => Number(s.id)))]);
      assert.equal(built.midExtensionIds[String(m.mid)], offeredMid?.value);
    });
  });
}

/** A minimal offer: sections given as m= lines plus attributes. */
function offerOf(sections: string[], session: string[] = ['a=group:BUNDLE 0 1']): string {
  const common = ['a=ice-ufrag:abcd', 'a=ice-pwd:0123456789012345678901', `a=fingerprint:sha-256 ${Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, '0')).join(':')}`, 'a=setup:actpass'];
  return ['v=0', 'o=- 1 1 IN IP4 0.0.0.0', 's=-', 't=0 0', ...session, ...sections.flatMap((s) => [...s.split('\n'), ...common]), ''].join('\r\n');
}

test('directions mirror the offer: sendonly gets recvonly (taken, for viewers, not echoed), recvonly and inactive get inactive, and only sendrecv is echoed', () => {
  const media = (mid: number, direction: string) => `m=audio 9 UDP/TLS/RTP/SAVPF 111\nc=IN IP4 0.0.0.0\na=mid:${mid}\na=${direction}\na=rtcp-mux\na=rtpmap:111 opus/48000/2`;
  const { built, parsed } = answer(offerOf([media(0, 'sendonly'), media(1, 'recvonly'), media(2, 'inactive'), media(3, 'sendrecv')], ['a=group:BUNDLE 0 1 2 3']));
  assert.deepEqual(parsed.media.map((m) => m.direction), ['recvonly', 'inactive', 'inactive', 'sendrecv']);
  assert.deepEqual(built.sections.map((s) => [s.mid, s.echo ?? true]), [['0', false], ['3', true]]);
  assert.deepEqual(built.sections[0]!.payloadTypes, [111], 'a publisher section takes its payload types');
  assert.deepEqual(parsed.media.map((m) => (m.ssrcs ?? []).length), [0, 0, 0, 2]);
});

test('a WHEP viewer: played sections sendonly with the viewer`s payload types of the plan and an SSRC of ours (echo: false), the others inactive', () => {
  const video = 'm=video 9 UDP/TLS/RTP/SAVPF 102 96 97\nc=IN IP4 0.0.0.0\na=mid:v\na=recvonly\na=rtcp-mux\na=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\na=rtpmap:102 H264/90000\na=rtpmap:96 VP8/90000\na=rtcp-fb:96 nack\na=rtcp-fb:96 nack pli\na=rtcp-fb:96 goog-remb\na=rtpmap:97 rtx/90000\na=fmtp:97 apt=96';
  const audio = 'm=audio 9 UDP/TLS/RTP/SAVPF 111\nc=IN IP4 0.0.0.0\na=mid:a\na=recvonly\na=rtcp-mux\na=rtpmap:111 opus/48000/2';
  const playback = { mappings: [{ kind: 'video' as const, publisherMid: '1', viewerMid: 'v', payloadTypes: [[100, 96]] as const, midExtensionId: 4 }], idle: [{ mid: 'a', kind: 'audio' as const }] };
  const { built, parsed } = answer(offerOf([video, audio], ['a=group:BUNDLE v a']), { playback });
  assert.deepEqual(parsed.media.map((m) => m.direction), ['sendonly', 'inactive']);
  const [played] = parsed.media;
  assert.equal(String(played!.payloads), '96');
  assert.deepEqual(played!.rtcpFb?.map((fb) => `${fb.type} ${fb.subtype ?? ''}`.trim()), ['nack', 'nack pli']);
  assert.deepEqual(played!.ext?.map((e) => [e.value, e.uri]), [[4, MID_EXTENSION_URI]]);
  assert.equal(built.sections.length, 1);
  const section = built.sections[0]!;
  assert.deepEqual([section.mid, section.echo, section.payloadTypes, section.midExtensionId], ['v', false, [], 4]);
  assert.deepEqual([...new Set(played!.ssrcs?.map((s) => s.id))], [section.echoSsrc], 'the answer announces the SSRC the plane plays on');
});

test('rejected: a section outside the bundle, one without rtcp-mux, one with nothing to echo; Firefox bundle-only sections are taken', () => {
  const audio = (mid: string, extra = 'a=rtcp-mux') => `m=audio 9 UDP/TLS/RTP/SAVPF 111\nc=IN IP4 0.0.0.0\na=mid:${mid}\na=sendrecv\n${extra}\na=rtpmap:111 opus/48000/2`;
  const rtxOnly = 'm=video 9 UDP/TLS/RTP/SAVPF 97\nc=IN IP4 0.0.0.0\na=mid:v\na=sendrecv\na=rtcp-mux\na=rtpmap:97 rtx/90000\na=fmtp:97 apt=96';
  const bundleOnly = 'm=audio 0 UDP/TLS/RTP/SAVPF 111\nc=IN IP4 0.0.0.0\na=mid:b\na=bundle-only\na=sendrecv\na=rtcp-mux\na=rtpmap:111 opus/48000/2';
  const { parsed } = answer(offerOf([audio('a'), audio('nomux', ''), rtxOnly, bundleOnly, audio('outside')], ['a=group:BUNDLE a nomux v b']));
  assert.deepEqual(parsed.media.map((m) => [m.mid, m.port]), [['a', 9], ['nomux', 0], ['v', 0], ['b', 9], ['outside', 0]]);
  assert.equal(parsed.groups?.[0]?.mids, 'a b');
});

test('data channels: the smaller of our limit and the offer`s (64 KiB when absent, ours when 0), the legacy sctpmap form mirrored', () => {
  const app = (extra: string) => offerOf([`m=application 9 UDP/DTLS/SCTP webrtc-datachannel\nc=IN IP4 0.0.0.0\na=mid:0\na=sctp-port:5001${extra}`], ['a=group:BUNDLE 0']);
  assert.equal(answer(app('')).built.dataChannel?.maxMessageSize, 65536);
  assert.equal(answer(app('\na=max-message-size:0')).built.dataChannel?.maxMessageSize, DEFAULT_MAX_MESSAGE_SIZE);
  assert.equal(answer(app('\na=max-message-size:1000')).built.dataChannel?.maxMessageSize, 1000);
  assert.equal(answer(app('\na=max-message-size:0'), { maxMessageSize: 4096 }).built.dataChannel?.maxMessageSize, 4096);
  assert.equal(answer(app('')).built.dataChannel?.remotePort, 5001);
  const legacy = offerOf(['m=application 9 DTLS/SCTP 5000\nc=IN IP4 0.0.0.0\na=mid:0\na=sctpmap:5000 webrtc-datachannel 65535\na=max-message-size:65536'], ['a=group:BUNDLE 0']);
  const { parsed } = answer(legacy);
  assert.equal(parsed.media[0]!.protocol, 'DTLS/SCTP');
  assert.equal(String(parsed.media[0]!.payloads), '5000');
  assert.equal(parsed.media[0]!.sctpmap?.app, 'webrtc-datachannel');
});

test('DTLS role: actpass leaves it to the stack policy, active makes us passive, passive active; holdconn and an offer without credentials are refused', () => {
  const app = (setup: string) => offerOf([`m=application 9 UDP/DTLS/SCTP webrtc-datachannel\nc=IN IP4 0.0.0.0\na=mid:0\na=sctp-port:5000`], ['a=group:BUNDLE 0']).replace(/a=setup:actpass/g, `a=setup:${setup}`);
  assert.equal(answer(app('actpass')).built.dtlsRole, 'client');
  assert.equal(answer(app('actpass').replace('o=- ', 'o=rtc ')).built.dtlsRole, 'server', 'libdatachannel');
  assert.equal(answer(app('active')).built.dtlsRole, 'server');
  assert.equal(answer(app('passive')).built.dtlsRole, 'client');
  assert.throws(() => answer(app('holdconn')), UnanswerableOffer);
  assert.throws(() => answer(app('actpass').replace(/a=ice-pwd:.*\r\n/g, '')), UnanswerableOffer);
  assert.throws(() => answer(offerOf(['m=text 9 RTP/AVP 0\nc=IN IP4 0.0.0.0\na=mid:0'], ['a=group:BUNDLE 0'])), UnanswerableOffer);
});

test('--public-ip rewrites the answer`s candidates afterwards (src/sdp/public-address.ts); ports and the rest stay', () => {
  const { built } = answer(realOffer('chromium-datachannel').sdp);
  const rewritten = sdpTransform.parse(announcePublicAddresses(built.sdp, ['203.0.113.7', '2001:db8::7']));
  assert.deepEqual(rewritten.media[0]!.candidates?.map((c) => `${c.ip} ${c.port}`), ['2001:db8::7 50000', '203.0.113.7 50000']);
  assert.equal(rewritten.media[0]!.iceUfrag, ICE.ufrag);
});

test('check hold-off by the stack that wrote the offer: at once for libwebrtc, 100 ms for libdatachannel and for everyone else (pion\'s prflx race)', () => {
  const holdOff = (name: string) => stackPolicy(sdpTransform.parse(realOffer(name).sdp)).checkHoldOffMs;
  for (const stack of ['chromium', 'libwebrtc']) assert.equal(holdOff(`${stack}-media`), 0, stack);
  for (const stack of ['libdatachannel', 'pion', 'aiortc', 'werift', 'gstreamer']) {
    assert.equal(holdOff(`${stack}-datachannel`), 100, stack);
    assert.equal(holdOff(`${stack}-media`), 100, stack);
  }
});

test('a mid extension id no header can carry (0, 2^32) is no mid extension: left out of the answer, the section found by SSRC or payload type', () => {
  for (const id of ['0', '256', '4294967296']) {
    const offer = realOffer('chromium-media').sdp.replace(/a=extmap:\d+ urn:ietf:params:rtp-hdrext:sdes:mid/g, `a=extmap:${id} urn:ietf:params:rtp-hdrext:sdes:mid`);
    const { built } = answer(offer);
    assert.doesNotMatch(built.sdp, /sdes:mid/, `id ${id}`);
    assert.deepEqual(built.midExtensionIds, {}, `id ${id}`);
    assert.ok(built.sections.length > 0 && built.sections.every((section) => section.midExtensionId === 0), `id ${id}: every section without one`);
  }
});

test('a DTLS fingerprint the plane cannot check a certificate against (empty, short, unknown hash) refuses the offer (422), not a 500', () => {
  const offer = realOffer('chromium-media').sdp;
  for (const fingerprint of ['sha-256 ', 'sha-256 AB:CD', 'md5 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89', 'sha-256 ZZ']) {
    const changed = offer.replace(/a=fingerprint:.*/g, `a=fingerprint:${fingerprint}`);
    assert.throws(() => answer(changed), UnanswerableOffer, fingerprint);
  }
});
