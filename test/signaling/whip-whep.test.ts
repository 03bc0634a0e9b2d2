/**
 * WHIP in, WHEP out, over real HTTP and real peer connections on loopback: our libdatachannel
 * client publishes the shipped VP8 clip and Opus by WHIP, viewers of ours watch it by WHEP.
 * What RFC 9725 and draft-ietf-wish-whep ask of the resources (201, Location, ETag, DELETE 200,
 * 404 after), and what playback promises (the publisher's payloads byte for byte, on the SSRC
 * and mid each viewer's answer gave, a keyframe request as a viewer joins, viewers that end
 * with their publisher and not with each other).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sdpTransform from 'sdp-transform';
import { ENGINE_NAMES, loadClientEngine, loadEngine } from '../../src/engines/registry.js';
import { rtpLegs } from '../../src/engines/engine.js';
import { byeSources } from '../../src/rtp/rtcp.js';
import { MID_EXTENSION_URI, rtpHeaderExtension } from '../../src/rtp/header-extensions.js';
import { rtpPayloadType, rtpSequenceNumber, rtpSsrc } from '../../src/rtp/packet.js';
import { rtpPayload, STEP_TIMEOUT_MS } from '../helpers/engine-pair.js';
import { startTestServer } from '../helpers/server.js';
import { eventually } from '../helpers/timeout.js';
import { capturingLogger } from '../helpers/capture-log.js';
import { collectRtp, connectResource, playOn } from '../helpers/whip.js';

const libdatachannel = await loadClientEngine('libdatachannel');
/** Every engine that declares playback serves; our libdatachannel client publishes and watches. */
const servers = (await Promise.all(ENGINE_NAMES.map((name) => loadEngine(name)))).filter((engine) => engine.capabilities.playback).map((engine) => engine.name);

for (const serverEngine of servers) {
describe(`WHIP publish and WHEP playback (${serverEngine} server)`, () => {
  test('POST /whip answers 201 with the answer, Location, ETag and Accept-Patch; DELETE ends it with 200, and 404 after', async (t) => {
    const server = await startTestServer(t, serverEngine);
    const publisher = await connectResource(t, libdatachannel, `${server.url}/whip`, 'sendonly');
    const { response } = publisher;
    assert.equal(response.headers.get('content-type'), 'application/sdp');
    assert.match(response.headers.get('location')!, /^\/whip\/[0-9a-f-]{36}$/);
    assert.match(publisher.etag, /^"[A-Za-z0-9_-]+"$/, 'a strong entity-tag');
    assert.equal(response.headers.get('accept-patch'), 'application/trickle-ice-sdpfrag');
    const answer = sdpTransform.parse(publisher.answer);
    assert.deepEqual(answer.media.map((m) => [m.type, m.direction]), [['audio', 'recvonly'], ['video', 'recvonly']], 'RFC 9725: the answer is recvonly');
    assert.deepEqual(server.sessions.roleOf(publisher.id), { kind: 'publisher' });

    const get = await fetch(publisher.url);
    assert.equal(get.status, 200);
    assert.equal(await get.text(), '');
    const deleted = await fetch(publisher.url, { method: 'DELETE' });
    assert.equal(deleted.status, 200);
    assert.equal(server.sessions.size, 0);
    assert.equal((await fetch(publisher.url, { method: 'DELETE' })).status, 404);
    assert.equal((await fetch(publisher.url)).status, 404);
  });

  test('viewers get the publisher\'s payloads byte for byte, on their own payload type, SSRC and mid, and a keyframe as they join', async (t) => {
    const server = await startTestServer(t, serverEngine);
    const publisher = await connectResource(t, libdatachannel, `${server.url}/whip`, 'sendonly');
    const playing = await playOn(t, publisher.peer);
    const video = playing.get('video')!.player;

    for (const round of [1, 2]) {
      const before = video.stats.keyframeRequests;
      const viewer = await connectResource(t, libdatachannel, `${server.url}/whep/${publisher.id}`, 'recvonly');
      assert.match(viewer.response.headers.get('location')!, new RegExp(`^/whep/${publisher.id}/[0-9a-f-]{36}$`));
      const answer = sdpTransform.parse(viewer.answer);
      assert.deepEqual(answer.media.map((m) => [m.type, m.direction]), [['audio', 'sendonly'], ['video', 'sendonly']], 'WHEP: the answer is sendonly');
      const received = collectRtp(viewer.peer);
      await eventually(() => (received.get('video')?.length ?? 0) > 20 && (received.get('audio')?.length ?? 0) > 20, STEP_TIMEOUT_MS, `media at viewer ${round}`);
      await eventually(() => video.stats.keyframeRequests > before, STEP_TIMEOUT_MS, `viewer ${round}'s join asked the publisher for a keyframe`);

      for (const kind of ['audio', 'video'] as const) {
        const section = answer.media.find((m) => m.type === kind)!;
        const ssrc = Number(section.ssrcs![0]!.id);
        const payloadType = Number(String(section.payloads).split(' ')[0]);
        const midId = section.ext?.find((e) => e.uri === MID_EXTENSION_URI)?.value;
        assert.ok(midId !== undefined, `${kind}: the answer keeps the mid extension the viewer offered`);
        const { sent } = playing.get(kind)!;
        for (const packet of received.get(kind)!) {
          assert.equal(rtpSsrc(packet), ssrc, `${kind} on the SSRC the viewer's answer announced`);
          assert.equal(rtpPayloadType(packet), payloadType, `${kind} on the payload type the viewer's answer gave`);
          assert.equal(rtpHeaderExtension(packet, midId)?.toString(), String(section.mid), `${kind} carries the viewer's mid`);
          const original = sent.get(rtpSequenceNumber(packet));
          assert.ok(original, `${kind} ${rtpSequenceNumber(packet)} was sent by the publisher`);
          assert.deepEqual(rtpPayload(packet), rtpPayload(original), `${kind} ${rtpSequenceNumber(packet)}: the publisher's payload, unchanged`);
        }
      }
    }
    assert.equal(server.sessions.size, 3);
  });
});

describe(`WHIP and WHEP resources end as they should (${serverEngine} server)`, () => {
  test('a viewer\'s DELETE ends only that viewer; the publisher\'s DELETE ends it and every viewer left', async (t) => {
    const server = await startTestServer(t, serverEngine);
    const publisher = await connectResource(t, libdatachannel, `${server.url}/whip`, 'sendonly');
    await playOn(t, publisher.peer);
    const [first, second] = [
      await connectResource(t, libdatachannel, `${server.url}/whep/${publisher.id}`, 'recvonly'),
      await connectResource(t, libdatachannel, `${server.url}/whep/${publisher.id}`, 'recvonly'),
    ];
    const received = collectRtp(second!.peer);
    assert.equal((await fetch(first!.url, { method: 'DELETE' })).status, 200);
    assert.equal(server.sessions.roleOf(first!.id), undefined);
    // The other viewer goes on receiving.
    const count = received.get('video')!.length;
    await eventually(() => received.get('video')!.length > count + 10, STEP_TIMEOUT_MS, 'the other viewer still receives');
    // A viewer resource is not the publisher's, and lives under its own publisher only.
    assert.equal((await fetch(`${server.url}/whip/${second!.id}`, { method: 'DELETE' })).status, 404);
    assert.equal((await fetch(`${server.url}/whep/${first!.id}/${second!.id}`, { method: 'DELETE' })).status, 404);
    assert.equal(server.sessions.size, 2);

    // The server tells the viewer: an RTCP BYE for what it played (libdatachannel, which sends
    // no close_notify for media alone), or a DTLS close_notify that closes the connection (werift).
    const answered = sdpTransform.parse(second!.answer).media.map((m) => Number(m.ssrcs![0]!.id));
    const byes = new Set<number>();
    let closed = false;
    second!.peer.onStateChange((state) => (closed ||= state === 'closed'));
    for (const leg of rtpLegs(second!.peer)) leg.onRtcp((rtcp) => byeSources(rtcp).forEach((s) => byes.add(s)));
    assert.equal((await fetch(publisher.url, { method: 'DELETE' })).status, 200);
    await eventually(() => server.sessions.size === 0, STEP_TIMEOUT_MS, 'the viewer ended with its publisher');
    assert.equal((await fetch(second!.url, { method: 'DELETE' })).status, 404);
    await eventually(() => closed || answered.every((ssrc) => byes.has(ssrc)), STEP_TIMEOUT_MS, 'the viewer\'s client told: a BYE for every source it was played, or its connection closed');
  });

  test('a publisher that goes away without a DELETE (its client closes) takes its viewers with it', async (t) => {
    const { log, lines } = capturingLogger('info');
    const server = await startTestServer(t, serverEngine, { log });
    const publisher = await connectResource(t, libdatachannel, `${server.url}/whip`, 'sendonly');
    await playOn(t, publisher.peer);
    const viewer = await connectResource(t, libdatachannel, `${server.url}/whep/${publisher.id}`, 'recvonly');
    publisher.peer.close();
    // Our client says BYE on every source; werift's echo peer does not read BYEs, and releases the publisher when it goes idle.
    await eventually(() => server.sessions.size === 0, 20_000, 'publisher and viewer released');
    const closedLines = lines.filter((l) => l.event === 'session-closed').map((l) => [l.role, l.reason]).sort();
    assert.deepEqual(closedLines, [['publisher', serverEngine === 'werift' ? 'idle' : 'remote-closed'], ['viewer', 'publisher-gone']], 'logged with role and reason');
    assert.equal((await fetch(viewer.url, { method: 'DELETE' })).status, 404);
  });
});
}
