/**
 * --max-data-channels: past the limit, a session's new data channels are closed at once and
 * never echoed, on every engine; the ones within it echo on. A real node-datachannel client
 * opens three channels against a limit of two.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PeerConnection } from 'node-datachannel';
import { parseCidrList } from '../../src/sdp/candidate-policy.js';
import { TESTED_ENGINES } from '../helpers/engines.js';
import { foreignPeerOpened } from '../../src/engines/libdatachannel/lifecycle.js';
import { splitCandidates } from '../../src/sdp/candidates.js';
import { postJson, startTestServer } from '../helpers/server.js';
import { eventually, withTimeout } from '../helpers/timeout.js';

for (const engine of TESTED_ENGINES) {
  test(`a ${engine} server closes the data channels past --max-data-channels and echoes on the others`, { timeout: 60_000 }, async (t) => {
    const server = await startTestServer(t, engine, {
      maxDataChannels: 2,
      // Without the client's candidates the server starts no early checks, which keeps
      // libdatachannel's client start-up race (issue 10) out of this test; ICE finds the client anyway.
      candidateDeny: parseCidrList('0.0.0.0/0,::/0'),
    });
    // As our libdatachannel client does: no auto-negotiation (each createDataChannel would make an
    // offer), candidates of the answer added after it (libdatachannel's start-up race).
    // A bare node-datachannel peer: the test needs each channel's own close event.
    const pc = new PeerConnection('limit-client', { iceServers: [], disableAutoNegotiation: true, bindAddress: '127.0.0.1' }); // loopback only, as the server
    // Through our engine's lifecycle, as every node-datachannel user in a process must go: its
    // global cleanup, 2 s after the last peer closed, destroyed this client when the libdatachannel
    // test's peers closed just before, and nothing released the callbacks of a channel whose
    // closed event never came (compare node-datachannel#349): the process hung after the tests.
    const released = foreignPeerOpened(() => {});
    t.after(() => {
      pc.close();
      released();
    });
    const gathered = new Promise<void>((resolve) => pc.onGatheringStateChange((state) => state === 'complete' && resolve()));
    const channels = ['one', 'two', 'three'].map((label) => pc.createDataChannel(label));
    const opened = channels.map((channel) => new Promise<void>((resolve) => (channel.isOpen() ? resolve() : channel.onOpen(() => resolve()))));
    const closed = channels.map((channel) => new Promise<void>((resolve) => channel.onClosed(() => resolve())));
    const echoes = channels.map((channel) => new Promise<string>((resolve) => channel.onMessage((message) => resolve(String(message)))));
    pc.setLocalDescription('offer');
    await withTimeout(gathered, 5_000, 'client gathering');
    const offer = pc.localDescription()!;
    const response = await postJson(`${server.url}/offer`, { type: offer.type, sdp: offer.sdp });
    assert.equal(response.status, 200);
    const answer = (await response.json()) as { type: string; sdp: string };
    const { sdp, candidates } = splitCandidates(answer.sdp);
    pc.setRemoteDescription(sdp, 'answer');
    for (const { candidate, mid } of candidates) pc.addRemoteCandidate(candidate, mid);
    // A refused channel may close before it opens (werift) or just after (the others).
    await withTimeout(Promise.all(opened.map((open, index) => Promise.race([open, closed[index]]))), 10_000, 'the client sees its channels open or closed');
    // Which channel's open reaches the server third is up to the stacks: exactly one is refused.
    const refused = await withTimeout(Promise.race(closed.map((p, index) => p.then(() => index))), 10_000, 'the server closes one channel');
    const kept = [0, 1, 2].filter((index) => index !== refused);
    for (const index of kept) channels[index]!.sendMessage(`echo-${index}`);
    for (const index of kept) assert.equal(await withTimeout(echoes[index]!, 5_000, `echo on channel ${index}`), `echo-${index}`);
    assert.deepEqual(channels.map((channel) => channel.isOpen()), [0, 1, 2].map((index) => index !== refused), 'the two others stay open');
    if (channels[refused]!.isOpen()) channels[refused]!.sendMessage('late');
    const echoedOnRefused = await Promise.race([echoes[refused]!, new Promise<undefined>((r) => setTimeout(r, 300))]);
    assert.equal(echoedOnRefused, undefined, 'nothing was echoed on the refused channel');
    await eventually(async () => /^echo_datachannels_refused_total 1$/m.test(await (await fetch(`${server.url}/metrics`)).text()), 5_000, 'the refusal is counted');
  });
}
