/**
 * Every server engine checks a client that cannot check it (RFC 8445: both agents check), also
 * the libdatachannel clients whose candidates our servers hold back so as not to check them
 * before they have our answer (kit/held-candidates.ts). Over loopback: a bare node-datachannel
 * client (origin `o=rtc`) offers its candidates but applies our answer without ours, so it never
 * checks us; only the server's checks, after the hold-off, can connect it. It then knows the
 * server only as a peer-reflexive address. The same network case in namespaces, with pion,
 * aiortc and Chromium: test/network/server-outbound.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerConnection } from 'node-datachannel';
import { ENGINE_NAMES } from '../../src/engines/registry.js';
import { splitCandidates } from '../../src/sdp/candidates.js';
import { postJson, startTestServer } from '../helpers/server.js';
import { withTimeout } from '../helpers/timeout.js';

for (const engine of ENGINE_NAMES) {
  test(`a ${engine} server connects a libdatachannel client that cannot check it, by checking the client's offered candidates`, { timeout: 60_000 }, async (t) => {
    const server = await startTestServer(t, engine);
    // Bound to 127.0.0.1, so it offers that (the server on loopback refuses other addresses, and
    // this machine's other addresses carry no test traffic).
    const pc = new PeerConnection('unreaching-client', { iceServers: [], disableAutoNegotiation: true, bindAddress: '127.0.0.1' });
    t.after(() => pc.close());
    const gathered = new Promise<void>((resolve) => pc.onGatheringStateChange((state) => state === 'complete' && resolve()));
    const channel = pc.createDataChannel('echo');
    const opened = new Promise<void>((resolve) => (channel.isOpen() ? resolve() : channel.onOpen(() => resolve())));
    const echoed = new Promise<string>((resolve) => channel.onMessage((message) => resolve(String(message))));
    pc.setLocalDescription('offer');
    await withTimeout(gathered, 5_000, 'client gathering');
    const offer = pc.localDescription()!;
    assert.ok(splitCandidates(offer.sdp).candidates.length > 0, 'the client offers its candidates');

    const response = await postJson(`${server.url}/offer`, { type: offer.type, sdp: offer.sdp });
    assert.equal(response.status, 200);
    const answer = (await response.json()) as { type: string; sdp: string };
    const { sdp, candidates } = splitCandidates(answer.sdp);
    assert.ok(candidates.length > 0, 'the answer has candidates, which the client leaves out');
    pc.setRemoteDescription(sdp, 'answer');

    await withTimeout(opened, 10_000, 'the data channel opens through the pair the server opened');
    channel.sendMessage('reached');
    assert.equal(await withTimeout(echoed, 5_000, 'the echo'), 'reached');
    assert.equal(pc.getSelectedCandidatePair()?.remote.type, 'prflx', 'the client knows the server only from its checks');
  });
}
