import { test } from 'node:test';
import { freePort } from '../../src/net/free-port.js';
import { CLIENT_ENGINE_NAMES } from '../../src/engines/registry.js';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { runCli } from '../helpers/cli.js';

/** A real HTTP server that misbehaves in one chosen way; `never` holds every request open. */
async function misbehavingServer(handler: 'status-500' | 'not-json' | 'offer-back' | 'never'): Promise<{ url: string; close: () => void }> {
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((req, res) => {
    req.resume();
    if (handler === 'never') return;
    if (handler === 'status-500') {
      res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"error":"boom","message":"exploded"}');
    } else if (handler === 'not-json') {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>hello</html>');
    } else {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ type: 'offer', sdp: 'v=0\r\n' }));
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/offer`,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}


const TIMEOUT_S = 4;
const CASES = [
  { name: 'a server answering 500', server: 'status-500', reason: 'signaling-http-error' },
  { name: 'a server answering non-JSON', server: 'not-json', reason: 'signaling-bad-answer' },
  { name: 'a server answering an offer instead of an answer', server: 'offer-back', reason: 'signaling-bad-answer' },
  { name: 'a server that never answers', server: 'never', reason: 'timeout' },
] as const;

for (const engine of CLIENT_ENGINE_NAMES) {
  for (const c of CASES) {
    test(`the ${engine} client exits 1 within its timeout against ${c.name}`, async (t) => {
      const server = await misbehavingServer(c.server);
      t.after(server.close);
      for (const testType of ['0', '1']) {
        const run = await runCli(['client', '-s', server.url, '-t', testType, '--engine', engine, '--timeout', String(TIMEOUT_S)], 30_000);
        assert.equal(run.code, 1, `exit code (stderr: ${run.stderr})`);
        assert.match(run.stderr, new RegExp(`FAIL ${c.reason}:`), 'a one-line reason on stderr');
        assert.ok(run.ms < TIMEOUT_S * 1000 + 5000, `took ${run.ms} ms`);
      }
    });
  }

  test(`the ${engine} client exits 1 quickly when no server listens`, async () => {
    const port = await freePort(); // free a moment ago: nothing listens there
    const run = await runCli(['client', `http://127.0.0.1:${port}/offer`, '--engine', engine, '--timeout', String(TIMEOUT_S)], 30_000);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /FAIL signaling-unreachable:.*ECONNREFUSED/);
  });
}
