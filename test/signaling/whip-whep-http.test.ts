/**
 * The HTTP side of WHIP (RFC 9725) and WHEP (draft-ietf-wish-whep) on a real server, each status
 * the RFC names: 415 for another body type, 404 for a resource that is not there, 4xx for an
 * offer that cannot be used, 405 with Allow, 428/412/204/422 for PATCH (trickle yes, ICE restart
 * no), 200 for GET with the type a POST takes, OPTIONS for CORS with Accept-Post and, outside a
 * preflight, the ICE servers; and the limits of /offer on the new routes (draining, the rate,
 * candidates, viewers per publisher). Offers here come from shapedOffer: nobody connects them.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { EchoServer } from '../../src/signaling/server.js';
import { iceServersFromLinks } from '../../src/net/link-header.js';
import { shapedOffer } from '../helpers/offer-shapes.js';
import { startTestServer } from '../helpers/server.js';
import { patchFragment, postSdp } from '../helpers/whip.js';

/** A shaped offer with every section `direction`. */
function offer(direction: 'sendonly' | 'recvonly' | 'sendrecv' | 'inactive', shape: Parameters<typeof shapedOffer>[0] = { audio: 1, video: 1 }): string {
  return shapedOffer(shape).sdp.replace(/^a=sendrecv$/gm, `a=${direction}`);
}

async function errorOf(response: Response): Promise<string> {
  return ((await response.json()) as { error: string }).error;
}

async function publish(server: EchoServer, sdp = offer('sendonly')) {
  const response = await postSdp(`${server.url}/whip`, sdp);
  assert.equal(response.status, 201, await response.clone().text());
  const location = response.headers.get('location')!;
  return { response, url: `${server.url}${location}`, id: location.split('/').pop()!, etag: response.headers.get('etag')! };
}

/** An RFC 8840 fragment for the first section of a shaped offer: its credentials, and these candidates. */
function fragment(sdp: string, candidates: string[], credentials?: { ufrag: string; pwd: string }): string {
  const ufrag = credentials?.ufrag ?? /^a=ice-ufrag:(.*)$/m.exec(sdp)![1]!;
  const pwd = credentials?.pwd ?? /^a=ice-pwd:(.*)$/m.exec(sdp)![1]!;
  return ['m=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:0', `a=ice-ufrag:${ufrag}`, `a=ice-pwd:${pwd}`, ...candidates.map((c) => `a=${c}`), 'a=end-of-candidates', ''].join('\r\n');
}

const candidate = (address: string, port: number) => `candidate:9 1 udp 2122260223 ${address} ${port} typ host`;

async function server(t: TestContext, overrides: Parameters<typeof startTestServer>[2] = {}) {
  return startTestServer(t, 'libdatachannel', overrides);
}

describe('WHIP and WHEP over HTTP', () => {
  test('the body type: 415 with Accept-Post for anything but application/sdp, before the body is read', async (t) => {
    const s = await server(t);
    for (const type of ['application/json', 'text/plain', undefined]) {
      const response = await fetch(`${s.url}/whip`, { method: 'POST', headers: type ? { 'Content-Type': type } : {}, body: offer('sendonly') });
      assert.equal(response.status, 415, `Content-Type ${type}`);
      assert.equal(response.headers.get('accept-post'), 'application/sdp');
      assert.equal(await errorOf(response), 'ECHO_ERR_UNSUPPORTED_MEDIA_TYPE');
    }
    assert.equal((await postSdp(`${s.url}/whip`, offer('sendonly'), { 'Content-Type': 'application/sdp; charset=utf-8' })).status, 201, 'parameters are allowed');
    const { id } = await publish(s);
    assert.equal((await fetch(`${s.url}/whep/${id}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).status, 415);
  });

  test('offers that cannot be used: 422 (or 400) with the reason, nothing created', async (t) => {
    const s = await server(t);
    const cases: Array<[string, string, string]> = [
      ['/whip', 'not sdp', 'ECHO_ERR_UNPARSABLE_SDP'],
      ['/whip', offer('recvonly'), 'ECHO_ERR_UNSUPPORTED_OFFER'],
      ['/whip', offer('inactive'), 'ECHO_ERR_UNSUPPORTED_OFFER'],
      ['/whip', offer('sendonly', { video: 2 }), 'ECHO_ERR_UNSUPPORTED_OFFER'],
      ['/whip', offer('sendonly', { data: true }), 'ECHO_ERR_UNSUPPORTED_OFFER'],
      ['/whip', offer('sendonly', { audio: 20 }), 'ECHO_ERR_TOO_MANY_MEDIA_SECTIONS'],
      ['/whip', 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\0', 'ECHO_ERR_INVALID_SDP_CHARACTERS'],
    ];
    for (const [path, sdp, code] of cases) {
      const response = await postSdp(`${s.url}${path}`, sdp);
      assert.ok(response.status === 422 || response.status === 400, `${code}: ${response.status}`);
      assert.equal(await errorOf(response), code);
    }
    const { id } = await publish(s);
    const viewer = await postSdp(`${s.url}/whep/${id}`, offer('sendonly'));
    assert.equal(viewer.status, 422);
    assert.match(((await viewer.json()) as { message: string }).message, /recvonly/);
    // A viewer that offers only a codec the publisher does not send.
    const h264Only = offer('recvonly', { video: 1 }).replace(/VP8\/90000/, 'H264/90000');
    const noCodec = await postSdp(`${s.url}/whep/${id}`, h264Only);
    assert.equal(noCodec.status, 422);
    assert.match(((await noCodec.json()) as { message: string }).message, /no codec in common.*VP8\/90000/);
    assert.equal(s.sessions.size, 1, 'only the publisher');
  });

  test('resources that are not there: 404; methods a resource does not take: 405 with Allow; GET: 200 with no body', async (t) => {
    const s = await server(t);
    const unknown = '00000000-0000-4000-8000-000000000000';
    assert.equal((await fetch(`${s.url}/whip/${unknown}`, { method: 'DELETE' })).status, 404);
    assert.equal((await patchFragment(`${s.url}/whip/${unknown}`, 'a=end-of-candidates\r\n', { 'If-Match': '*' })).status, 404);
    assert.equal((await fetch(`${s.url}/whip/${unknown}`)).status, 404);
    assert.equal((await postSdp(`${s.url}/whep/${unknown}`, offer('recvonly'))).status, 404, 'no publisher to watch');
    const { id, url } = await publish(s);
    const put = await fetch(url, { method: 'PUT', body: 'x' });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get('allow'), 'PATCH, DELETE');
    const del = await fetch(`${s.url}/whip`, { method: 'DELETE' });
    assert.equal(del.status, 405);
    assert.equal(del.headers.get('allow'), 'POST');
    for (const path of ['/whip', `/whep/${id}`, `/whip/${id}`]) {
      const get = await fetch(`${s.url}${path}`);
      assert.equal(get.status, 200, path);
      assert.equal(get.headers.get('content-type'), 'application/sdp', `${path}: the type a POST takes (WHEP discovery)`);
      assert.equal(await get.text(), '');
      assert.equal((await fetch(`${s.url}${path}`, { method: 'HEAD' })).headers.get('content-type'), 'application/sdp');
    }
  });

  test('OPTIONS: CORS for other origins, Accept-Post, and the ICE servers only outside a preflight; 201 carries them as Link headers', async (t) => {
    const linkIceServers = [{ urls: 'stun:127.0.0.1:3478' }, { urls: 'turn:127.0.0.1:3478?transport=udp', username: 'u"ser', credential: 'p;a,ss' }];
    const s = await server(t, { linkIceServers });
    const plain = await fetch(`${s.url}/whip`, { method: 'OPTIONS' });
    assert.equal(plain.status, 200);
    assert.equal(plain.headers.get('accept-post'), 'application/sdp');
    assert.deepEqual(iceServersFromLinks(plain.headers.get('link')), linkIceServers);

    const preflight = await fetch(`${s.url}/whip`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://player.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type, authorization' },
    });
    assert.equal(preflight.status, 200);
    assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
    assert.match(preflight.headers.get('access-control-allow-methods')!, /PATCH.*DELETE/);
    assert.equal(preflight.headers.get('access-control-allow-headers'), 'content-type, authorization');
    assert.equal(preflight.headers.get('link'), null, 'RFC 9725: no ICE servers on a CORS preflight');

    const created = await postSdp(`${s.url}/whip`, offer('sendonly'), { Origin: 'https://player.example' });
    assert.equal(created.status, 201);
    assert.deepEqual(iceServersFromLinks(created.headers.get('link')), linkIceServers);
    const exposed = created.headers.get('access-control-expose-headers')!.split(/,\s*/);
    for (const header of ['Location', 'ETag', 'Link']) assert.ok(exposed.includes(header), `a page may read ${header}`);
    const resource = await fetch(`${s.url}${created.headers.get('location')}`, { method: 'OPTIONS' });
    assert.equal(resource.headers.get('accept-patch'), 'application/trickle-ice-sdpfrag');
    // Without --link-ice-server, no Link at all.
    const bare = await server(t);
    assert.equal((await fetch(`${bare.url}/whip`, { method: 'OPTIONS' })).headers.get('link'), null);
  });

  test('PATCH: 428 without If-Match, 412 for another ICE session, 204 (no ETag) for candidates, 422 for an ICE restart with the session kept', async (t) => {
    const s = await server(t, { maxCandidates: 4 });
    const sdp = offer('sendonly');
    const { url, etag, id } = await publish(s, sdp);
    const body = fragment(sdp, [candidate('127.0.0.1', 50_001)]);
    const missing = await patchFragment(url, body);
    assert.equal(missing.status, 428);
    assert.equal(await errorOf(missing), 'ECHO_ERR_PRECONDITION_REQUIRED');
    const stale = await patchFragment(url, body, { 'If-Match': '"not-this-one"' });
    assert.equal(stale.status, 412);
    assert.equal((await patchFragment(url, body, { 'If-Match': `W/${etag}` })).status, 412, 'If-Match compares strongly');

    const trickled = await patchFragment(url, body, { 'If-Match': etag });
    assert.equal(trickled.status, 204);
    assert.equal(trickled.headers.get('etag'), null, 'RFC 9725: no ETag on a trickle answer');
    assert.equal(await trickled.text(), '');
    assert.equal((await patchFragment(url, body, { 'If-Match': `"x", ${etag}` })).status, 204, 'a list naming the tag; a candidate sent again counts once');

    const type = await fetch(url, { method: 'PATCH', headers: { 'Content-Type': 'application/sdp', 'If-Match': etag }, body });
    assert.equal(type.status, 415);
    assert.equal(type.headers.get('accept-patch'), 'application/trickle-ice-sdpfrag');
    assert.equal((await patchFragment(url, 'not a fragment', { 'If-Match': etag })).status, 400);
    assert.equal((await patchFragment(url, candidate('127.0.0.1', 1), { 'If-Match': etag })).status, 400, 'a candidate outside any section');

    const restart = await patchFragment(url, fragment(sdp, [candidate('127.0.0.1', 50_002)], { ufrag: 'newu', pwd: 'a-new-password-of-22ch' }), { 'If-Match': '*' });
    assert.equal(restart.status, 422);
    assert.equal(await errorOf(restart), 'ECHO_ERR_ICE_RESTART_UNSUPPORTED');
    assert.deepEqual(s.sessions.roleOf(id), { kind: 'publisher' }, 'a refused ICE restart keeps the session');

    // The offer's candidate (1) and the trickled one (1), then 3 more: 5 distinct, over --max-candidates 4.
    const many = fragment(sdp, [50_003, 50_004, 50_005].map((port) => candidate('127.0.0.1', port)));
    const over = await patchFragment(url, many, { 'If-Match': etag });
    assert.equal(over.status, 422);
    assert.equal(await errorOf(over), 'ECHO_ERR_TOO_MANY_CANDIDATES');
  });

  test('PATCH candidates go through the candidate policy, as an offer\'s do', async (t) => {
    const s = await server(t, { host: '127.0.0.1', candidateDeny: (await import('../../src/sdp/candidate-policy.js')).parseCidrList('192.0.2.0/24') });
    const sdp = offer('sendonly');
    const { url, etag } = await publish(s, sdp);
    const response = await patchFragment(url, fragment(sdp, [candidate('192.0.2.7', 4000), candidate('0.0.0.0', 4001), candidate('127.0.0.1', 4002)]), { 'If-Match': etag });
    assert.equal(response.status, 204, 'refused candidates are dropped silently (RFC 9725)');
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, /echo_candidates_refused_total\{reason="denied"\} 1/);
    assert.match(metrics, /echo_candidates_refused_total\{reason="unspecified"\} 1/);
  });

  test('the limits of /offer hold: draining 503, the offer rate 429, viewers per publisher 503; DELETE works while draining', async (t) => {
    const s = await server(t, { maxViewersPerPublisher: 1 });
    const { id, url } = await publish(s);
    assert.equal((await postSdp(`${s.url}/whep/${id}`, offer('recvonly'))).status, 201);
    const second = await postSdp(`${s.url}/whep/${id}`, offer('recvonly'));
    assert.equal(second.status, 503);
    assert.equal(await errorOf(second), 'ECHO_ERR_TOO_MANY_VIEWERS');
    assert.ok(second.headers.get('retry-after'));

    s.sessions.startDraining();
    const drained = await postSdp(`${s.url}/whip`, offer('sendonly'));
    assert.equal(drained.status, 503);
    assert.equal(await errorOf(drained), 'ECHO_ERR_DRAINING');
    assert.equal((await fetch(url, { method: 'DELETE' })).status, 200);
    assert.equal(s.sessions.size, 0, 'the viewer went with its publisher');

    const limited = await server(t, { offersPerSecond: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await postSdp(`${limited.url}/whip`, offer('sendonly'))).status);
    assert.deepEqual(statuses, [201, 201, 429]);
  });
});

describe('WHEP on an engine without playback', () => {
  test('libwebrtc (decode and re-encode, no raw RTP) takes WHIP, and answers WHEP with 501 before reading the offer', async (t) => {
    const s = await startTestServer(t, 'libwebrtc');
    assert.equal(s.sessions.capabilities.playback, false);
    const { id, url } = await publish(s);
    const refused = await postSdp(`${s.url}/whep/${id}`, offer('recvonly'));
    assert.equal(refused.status, 501);
    const body = (await refused.json()) as { error: string; message: string };
    assert.equal(body.error, 'ECHO_ERR_PLAYBACK_UNSUPPORTED');
    assert.match(body.message, /libwebrtc.*--engine libdatachannel or werift/);
    assert.equal((await fetch(url, { method: 'DELETE' })).status, 200);
  });
});
