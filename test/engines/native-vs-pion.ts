/**
 * pion clients against a pion server and against the native control plane (on the real data
 * plane, a plane per session), interleaved run by run so that both see the same machine load:
 * answer -> connected as pion-client reports it (test 1, a data channel echo).
 *
 *   node --import tsx test/engines/native-vs-pion.ts --runs 30 [--no-candidates]
 *
 * --no-candidates takes every candidate out of both answers: the client can reach neither server
 * and learns it only from the server's own checks. The offers keep only loopback candidates
 * (the servers check nothing else). Not a test (npm test runs test/<dir>/*.test.ts only).
 */
import { spawn } from 'node:child_process';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { summarize } from '../../src/bench/stats.js';
import { applyCandidatePolicy, parseCidrList } from '../../src/sdp/candidate-policy.js';
import { parseOffer } from '../../src/sdp/offer.js';
import { ROOT } from '../helpers/cli.js';
import { startNativeHttpServer } from '../helpers/native-http.js';
import { runCommand } from '../helpers/run-command.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' }, 'no-candidates': { type: 'boolean', default: false } } });
const strip = values['no-candidates'];
const LOOPBACK_ONLY = { allow: parseCidrList('127.0.0.0/8,::1/128'), deny: [], refuseLocal: false };

const pion = spawn(join(ROOT, 'interop/peers/pion/bin/pion-server'), ['--port', '0', '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'ignore'] });
const pionPort = await new Promise<number>((resolve) => pion.stdout.on('data', (d) => /listening (\d+)/.test(String(d)) && resolve(Number(/listening (\d+)/.exec(String(d))![1]))));
/** The pion server behind a proxy that applies the same offer policy and, with --no-candidates, empties the answer. */
const proxy = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const offer = JSON.parse(body) as { sdp: string };
    offer.sdp = applyCandidatePolicy(parseOffer(offer.sdp), LOOPBACK_ONLY).offer.sdp;
    const out = request({ host: '127.0.0.1', port: pionPort, path: '/offer', method: 'POST', headers: { 'content-type': 'application/json' } }, (r) => {
      let answer = '';
      r.on('data', (c) => (answer += c));
      r.on('end', () => {
        const parsed = JSON.parse(answer) as { sdp: string };
        if (strip) parsed.sdp = parsed.sdp.split('\r\n').filter((l) => !/^a=(candidate|end-of-candidates)/.test(l)).join('\r\n');
        res.writeHead(r.statusCode ?? 500, { 'content-type': 'application/json' });
        res.end(JSON.stringify(parsed));
      });
    });
    out.end(JSON.stringify(offer));
  });
});
await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const native = await startNativeHttpServer({ unreachable: strip ? 'no-candidates' : false });
const urls = { pion: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/offer`, native: native.url };

const times: Record<keyof typeof urls, number[]> = { pion: [], native: [] };
/** Ours only: answer -> ICE selected, as the server sees it. */
const iceTimes: number[] = [];
const failures: Record<keyof typeof urls, number> = { pion: 0, native: 0 };
for (let run = 0; run < Number(values.runs); run++) {
  for (const server of run % 2 ? (['native', 'pion'] as const) : (['pion', 'native'] as const)) {
    const { code, stderr } = await runCommand(join(ROOT, 'interop/peers/pion/bin/pion-client'), ['-s', urls[server], '-t', '1', '--timeout', '5']);
    if (code !== 0) failures[server]++;
    else times[server].push(Number(/^connected_ms (\d+)/m.exec(stderr)?.[1]) - Number(/^answer_ms (\d+)/m.exec(stderr)?.[1]));
    for (const session of native.sessions.splice(0)) {
      if (session.iceConnectedAt !== undefined) iceTimes.push(session.iceConnectedAt - session.answeredAt);
      session.close();
    }
  }
}
for (const server of ['pion', 'native'] as const) {
  const s = summarize(times[server]);
  console.log(`pion client -> ${server} server${strip ? ' (no candidates in the answer)' : ''}: ${times[server].length} ok, ${failures[server]} failed; answer -> connected p50 ${s?.p50} p95 ${s?.p95} max ${s?.max} ms`);
}
const ice = summarize(iceTimes);
console.log(`native server, answer -> ICE selected (server side): ${iceTimes.length} runs; p50 ${ice?.p50} p95 ${ice?.p95} max ${ice?.max} ms`);
await native.close();
proxy.close();
pion.kill('SIGTERM');
process.exit(0);
