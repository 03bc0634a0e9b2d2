/**
 * A refused body of tens of MiB (src/signaling/refused-body.ts): the client reads its 413 (it
 * used to get a RST once the server stopped reading at 4 MiB), the server serves others while it
 * reads and drops the rest, and the reading is bounded: bytes, a pause, the request timeout.
 * The server runs in a process of its own, as users run it (in this process the client's writes
 * would all be buffered before the server got to run, and the race would not show).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { LINGER_IDLE_MS, LINGER_MAX_BYTES } from '../../src/signaling/refused-body.js';
import { REQUEST_TIMEOUT_MS } from '../../src/signaling/app.js';
import { runCli } from '../helpers/cli.js';
import { spawnServe, type ServeProcess } from '../helpers/serve-process.js';

const MiB = 1024 * 1024;

interface Upload {
  /** Everything the server sent before the connection ended. */
  reply: string;
  /** Body bytes the client got to write. */
  sent: number;
  /** How the connection ended for the client: `end` (the server closed or we did after the reply), or an error code. */
  ending: string;
  ms: number;
}

/**
 * POST /offer with a body of `size` bytes written as fast as the socket takes them, then read
 * what comes back. `pauseAfter`: stop writing after that many bytes and wait; `trickle`: after
 * `pauseAfter`, one KiB a second; `close`: the request asks for `Connection: close`. The client
 * never stops to read first: it is a client that uploads, then looks at the answer.
 */
function upload(port: number, size: number, options: { chunked?: boolean; close?: boolean; pauseAfter?: number; trickle?: boolean } = {}): Promise<Upload> {
  return new Promise((resolve) => {
    const start = performance.now();
    // allowHalfOpen: the client goes on writing after the server's FIN (a server that closes after its reply).
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let reply = '';
    let sent = 0;
    let trickle: NodeJS.Timeout | undefined;
    const done = (ending: string) => {
      clearInterval(trickle);
      socket.destroy();
      resolve({ reply, sent, ending, ms: Math.round(performance.now() - start) });
    };
    /** Done once the whole body is written and the whole reply read (the server keeps the connection). */
    const check = () => {
      const head = reply.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(reply)?.[1];
      if (sent >= size && head !== -1 && length !== undefined && reply.length >= head + 4 + Number(length)) done('end');
    };
    socket.on('data', (chunk) => {
      reply += chunk;
      check();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
    socket.on('close', () => done('end'));
    // The server's FIN: the end, except after a reply that closes (the server reads on after it).
    socket.on('end', () => !options.close && done('end'));
    const framing = options.chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${size}`;
    socket.write(`POST /offer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${options.close ? 'Connection: close\r\n' : ''}${framing}\r\n\r\n`);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const write = (bytes: Buffer) => {
      sent += bytes.length;
      return options.chunked ? socket.write(`${bytes.length.toString(16)}\r\n${bytes}\r\n`) : socket.write(bytes);
    };
    const limit = options.pauseAfter ?? size;
    const pump = () => {
      while (sent < limit && !socket.destroyed) {
        if (!write(chunk.subarray(0, Math.min(chunk.length, limit - sent)))) return void socket.once('drain', pump);
      }
      if (sent >= size && options.chunked) socket.write('0\r\n\r\n');
      if (sent >= size) socket.write('', check);
      if (options.trickle) trickle = setInterval(() => !socket.destroyed && write(chunk.subarray(0, 1024)), 1_000);
    };
    pump();
  });
}

async function startServer(t: import('node:test').TestContext): Promise<{ server: ServeProcess; port: number }> {
  const server = await spawnServe(t, ['--host', '127.0.0.1', '--port', '0', '--workers', '1', '--offer-rate', '0', '--log-level', 'info']);
  return { server, port: Number(new URL(server.url).port) };
}

const errorOf = (reply: string) => (JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)) as { error: string }).error;

test('a 40 MiB body gets its 413 read, with Content-Length and chunked, on a kept or a closing connection, while the server serves others', { timeout: 120_000 }, async (t) => {
  const { server, port } = await startServer(t);
  // Five at once, both framings, one asking to close, and meanwhile a real session: nobody waits for the uploads.
  const uploads = Promise.all([
    upload(port, 40 * MiB),
    upload(port, 40 * MiB),
    upload(port, 40 * MiB, { chunked: true }),
    upload(port, 40 * MiB, { chunked: true }),
    upload(port, 40 * MiB, { close: true }),
  ]);
  const health = await fetch(`${server.url}/healthz`);
  assert.equal(health.status, 200);
  const client = await runCli(['client', '-s', `${server.url}/offer`, '-t', '1']);
  assert.equal(client.code, 0, client.stderr);
  for (const [i, result] of (await uploads).entries()) {
    assert.equal(result.sent, 40 * MiB, `upload ${i} wrote its whole body (${result.ending})`);
    assert.match(result.reply, /^HTTP\/1\.1 413 /, `upload ${i}: ${result.ending} after ${JSON.stringify(result.reply.slice(0, 40))}`);
    assert.equal(errorOf(result.reply), 'ECHO_ERR_BODY_TOO_LARGE');
    t.diagnostic(`upload ${i}: 413 read after ${result.ms} ms`);
  }
  assert.equal(server.logs.filter((l) => l.event === 'refused-body-cut').length, 0, 'no body was cut');
});

test(`a refused body is read up to ${LINGER_MAX_BYTES / MiB} MiB, then the connection is closed`, { timeout: 120_000 }, async (t) => {
  const { server, port } = await startServer(t);
  const result = await upload(port, LINGER_MAX_BYTES + 32 * MiB);
  assert.match(result.reply, /^HTTP\/1\.1 413 /, 'the 413 left before the cut');
  assert.ok(result.sent < LINGER_MAX_BYTES + 32 * MiB, `the client could not write it all (${result.sent} bytes, ${result.ending})`);
  const cut = await server.event('refused-body-cut');
  assert.equal(cut.reason, 'bytes');
  assert.ok((cut.bytes as number) > LINGER_MAX_BYTES && (cut.bytes as number) <= LINGER_MAX_BYTES + MiB, `read ${String(cut.bytes)} bytes`);
});

test(`a refused body that pauses for ${LINGER_IDLE_MS / 1000} s is cut; one that trickles is cut at the request timeout, without a second reply`, { timeout: 60_000 }, async (t) => {
  const { server, port } = await startServer(t);
  const [paused, trickled] = await Promise.all([
    upload(port, 100 * MiB, { pauseAfter: MiB }),
    upload(port, 100 * MiB, { pauseAfter: MiB, trickle: true }),
  ]);
  assert.match(paused.reply, /^HTTP\/1\.1 413 /);
  assert.ok(paused.ms >= LINGER_IDLE_MS - 100 && paused.ms < LINGER_IDLE_MS + 3_000, `paused body cut after ${paused.ms} ms`);
  assert.match(trickled.reply, /^HTTP\/1\.1 413 /);
  assert.equal(trickled.reply.match(/HTTP\/1\.1 /g)?.length, 1, `one reply only: ${trickled.reply}`);
  assert.ok(trickled.ms >= REQUEST_TIMEOUT_MS - 100 && trickled.ms < REQUEST_TIMEOUT_MS + 3_000, `trickling body cut after ${trickled.ms} ms`);
  const reasons = server.logs.filter((l) => l.event === 'refused-body-cut').map((l) => l.reason).sort();
  assert.deepEqual(reasons, ['idle', 'timeout']);
});
