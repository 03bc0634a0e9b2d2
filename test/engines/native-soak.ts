/**
 * Set-up times of clients against the native control plane (on the real data plane, a plane per
 * session), for choosing the check hold-off and the DTLS role: answer -> connected (ICE and
 * DTLS) as the client sees it, over HTTP signaling on loopback, and how many runs failed.
 *
 *   node --import tsx test/engines/native-soak.ts --client libdatachannel --hold-off 0,5,10,100 --runs 30 [--unreachable] [--dtls-role client|server]
 *
 * Clients: libdatachannel (node-datachannel bound to 127.0.0.1, so it offers a candidate we can
 * check early), pion (interop/peers/pion/bin/pion-client -t 1), libwebrtc and werift (our engines'
 * client peers, data channel). Not a test (npm test runs test/<dir>/*.test.ts only).
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import nodeDataChannel from 'node-datachannel';
import { loadClientEngine } from '../../src/engines/registry.js';
import { silentLogger as log } from '../../src/log.js';
import { summarize } from '../../src/bench/stats.js';
import { ROOT } from '../helpers/cli.js';
import { startNativeHttpServer } from '../helpers/native-http.js';
import { runCommand } from '../helpers/run-command.js';
import { withTimeout } from '../helpers/timeout.js';

const { values } = parseArgs({
  options: {
    client: { type: 'string', default: 'libdatachannel' },
    'hold-off': { type: 'string', default: '0,10,100' },
    runs: { type: 'string', default: '20' },
    unreachable: { type: 'boolean', default: false },
    'dtls-role': { type: 'string' },
  },
});

async function post(url: string, sdp: string): Promise<string> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'offer', sdp }) });
  return ((await res.json()) as { sdp: string }).sdp;
}

/** One run: answer -> connected in ms, or an Error. */
async function once(url: string): Promise<number> {
  switch (values.client) {
    case 'libdatachannel': {
      const pc = new nodeDataChannel.PeerConnection('soak', { iceServers: [], bindAddress: '127.0.0.1' });
      try {
        const gathered = new Promise<void>((r) => pc.onGatheringStateChange((s) => s === 'complete' && r()));
        pc.createDataChannel('echo');
        await withTimeout(gathered, 5000, 'gathering');
        const connected = new Promise<number>((resolve, reject) =>
          pc.onStateChange((s) => (s === 'connected' ? resolve(performance.now()) : s === 'failed' ? reject(new Error('failed')) : undefined)),
        );
        const answer = await post(url, pc.localDescription()!.sdp);
        const answeredAt = performance.now();
        pc.setRemoteDescription(answer, 'answer');
        return (await withTimeout(connected, 5000, 'connected')) - answeredAt;
      } finally {
        pc.close();
      }
    }
    case 'pion': {
      const { code, stderr } = await runCommand(join(ROOT, 'interop/peers/pion/bin/pion-client'), ['-s', url, '-t', '1', '--timeout', '5']);
      if (code !== 0) throw new Error(stderr.trim().split('\n').at(-1));
      return Number(/^connected_ms (\d+)/m.exec(stderr)?.[1]) - Number(/^answer_ms (\d+)/m.exec(stderr)?.[1]);
    }
    default: {
      const engine = await loadClientEngine(values.client as 'libwebrtc' | 'werift');
      const client = engine.createClientPeer({ audio: false, video: false, dataChannel: 'echo', gatherTimeoutMs: 3000, log });
      try {
        const offer = await client.createOffer();
        const connected = new Promise<number>((resolve, reject) =>
          client.onStateChange((s) => (s === 'connected' ? resolve(performance.now()) : s === 'failed' ? reject(new Error('failed')) : undefined)),
        );
        const answer = await post(url, offer.sdp);
        const answeredAt = performance.now();
        await client.acceptAnswer({ type: 'answer', sdp: answer });
        return (await withTimeout(connected, 5000, 'connected')) - answeredAt;
      } finally {
        client.close();
      }
    }
  }
}

for (const holdOff of values['hold-off']!.split(',').map(Number)) {
  const server = await startNativeHttpServer({
    checkHoldOffMs: holdOff,
    unreachable: values.unreachable,
    dtlsRole: values['dtls-role'] as 'client' | 'server' | undefined,
  });
  const times: number[] = [];
  const failures: string[] = [];
  for (let run = 0; run < Number(values.runs); run++) {
    try {
      times.push(await once(server.url));
    } catch (error) {
      failures.push((error as Error).message);
    }
    for (const session of server.sessions.splice(0)) session.close();
  }
  await server.close();
  const s = summarize(times);
  console.log(
    `${values.client}${values.unreachable ? ' unreachable' : ''} hold-off ${holdOff} ms dtls ${values['dtls-role'] ?? 'policy'}: ` +
      `${times.length} ok, ${failures.length} failed; answer -> connected p50 ${s?.p50 ?? '-'} p95 ${s?.p95 ?? '-'} max ${s?.max ?? '-'} ms` +
      (failures.length ? ` (${[...new Set(failures)].join('; ')})` : ''),
  );
}

process.exit(0);
