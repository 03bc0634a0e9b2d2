#!/usr/bin/env node
/**
 * Janus (Debian's janus 1.1, its EchoTest plugin) as an Echo Test server, under the peer
 * contract of interop/peers/README.md:
 *   node dist/interop/janus/main.js [--port 8080] [--host 0.0.0.0]
 * Starts its own janus with a generated configuration (config.ts), prints `listening <port>`
 * once both janus and the `POST /offer` endpoint are up, and turns each offer into a Janus
 * session (echo-session.ts). Non-trickle: the answer holds every candidate. SIGTERM/SIGINT:
 * destroy every session, stop janus, exit 0. Exit 1 when janus or the port cannot start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Command } from 'commander';
import { parsePositiveInt, secondsOption } from '../../commands/parse.js';
import { freePort } from '../../net/free-port.js';
import { JanusApi, JanusError } from './api.js';
import { JANUS_PATH, writeJanusConfig, type JanusConfig } from './config.js';
import { EchoSession } from './echo-session.js';

const JANUS_START_MS = 15_000;
const MAX_BODY_BYTES = 256 * 1024;

interface Options {
  port: number;
  host: string;
  janus: string;
  debugLevel: number;
  maxLifetime: number;
}

const program = new Command('janus-server')
  .description('the Echo Test server on Janus 1.1 (janus.plugin.echotest), POST /offer')
  .option('--port <port>', 'port for POST /offer (0: any free port)', (v) => (v === '0' ? 0 : parsePositiveInt(v)), 8080)
  .option('--host <host>', 'address to listen on', '0.0.0.0')
  .option('--janus <path>', 'the janus executable', JANUS_PATH)
  .addOption(secondsOption('--max-lifetime <seconds>', 'close a session this long after its answer (Janus may never notice a client that left without a DTLS alert)', 600_000))
  .option('--debug-level <n>', "janus's log level, 0-7", (v) => Number(v), 4)
  .action(run);

async function run(options: Options): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const janusPort = await freePort();
  const config = await writeJanusConfig({ httpPort: janusPort, debugLevel: options.debugLevel });
  const janus = spawn(options.janus, config.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const janusAlive = () => janus.exitCode === null && janus.signalCode === null;
  // Janus logs to stdout; ours is for `listening <port>` only, so its lines go to stderr.
  janus.stdout.on('data', (chunk: Buffer) => process.stderr.write(chunk.toString().replace(/^(?=.)/gm, 'janus | ')));
  janus.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk.toString().replace(/^(?=.)/gm, 'janus | ')));
  janus.once('error', (err) => log(`error: janus did not start: ${err.message}`));

  const api = new JanusApi(`http://127.0.0.1:${janusPort}/janus`);
  const sessions = new Set<EchoSession>();
  let nextId = 1;
  let stopping = false;

  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    server.close();
    await Promise.race([Promise.all([...sessions].map((s) => s.close('shutting down'))), sleep(2_000)]);
    await stopJanus(janus, config);
    process.exit(code);
  };
  janus.once('exit', (code, signal) => {
    if (stopping) return;
    log(`error: janus exited (${signal ?? code}) while serving`);
    void config.remove().finally(() => process.exit(1));
  });

  const server = createServer((request, response) => {
    void handle(request, response).catch((err: Error) => reply(response, 500, { error: `internal: ${err.message}` }));
  });
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    if (path !== '/offer') return reply(response, 404, { error: 'not found: POST /offer' });
    if (request.method === 'OPTIONS') return reply(response, 204);
    if (request.method !== 'POST') return reply(response, 405, { error: 'method not allowed: POST /offer' });
    let offer: unknown;
    try {
      offer = JSON.parse(await readBody(request));
    } catch (err) {
      return reply(response, 400, { error: `not a JSON offer: ${(err as Error).message}` });
    }
    if (!isOffer(offer)) return reply(response, 400, { error: 'expected {"type": "offer", "sdp": "v=0…"}' });
    const session = new EchoSession(nextId++, {
      connectTimeoutMs: 30_000,
      maxLifetimeMs: options.maxLifetime,
      answerTimeoutMs: 10_000,
      log,
      onClosed: (s) => sessions.delete(s),
    });
    sessions.add(session);
    try {
      const answer = await session.answer(api, { type: 'offer', sdp: offer.sdp });
      reply(response, 200, answer);
    } catch (err) {
      reply(response, isRefusedOffer(err) ? 400 : 502, { error: (err as Error).message });
    }
  };

  try {
    const info = await api.waitUntilUp(JANUS_START_MS, janusAlive);
    log(`janus ${info.version_string ?? '?'} (pid ${janus.pid}, built with libnice ${info.dependencies?.libnice ?? '?'}), data channels: ${info.data_channels ? 'yes' : 'no'}, plugins: ${Object.keys(info.plugins ?? {}).join(', ')}`);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, resolve);
    });
  } catch (err) {
    log(`error: cannot start: ${(err as Error).message}`);
    await stopJanus(janus, config);
    process.exit(1);
  }
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : options.port}\n`);
  process.once('SIGTERM', () => void shutdown(0));
  process.once('SIGINT', () => void shutdown(0));
}

/** Janus refused the offer itself (464 unknown JSEP type, 465 invalid SDP) or the echotest plugin did. */
function isRefusedOffer(err: unknown): boolean {
  return err instanceof JanusError && (err.code === 464 || err.code === 465 || err.message.startsWith('echotest:'));
}

function isOffer(value: unknown): value is { type: 'offer'; sdp: string } {
  const v = value as { type?: unknown; sdp?: unknown } | null;
  return typeof v === 'object' && v !== null && v.type === 'offer' && typeof v.sdp === 'string' && v.sdp.startsWith('v=0');
}

function reply(response: ServerResponse, status: number, body?: unknown): void {
  if (response.headersSent) return;
  response.writeHead(status, {
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Methods': 'POST, OPTIONS',
    'Access-Control-Allow-Headers': 'Content-Type',
    ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
  });
  response.end(body === undefined ? undefined : JSON.stringify(body));
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > MAX_BODY_BYTES) {
        reject(new Error('body too large'));
        request.destroy();
      }
    });
    request.on('end', () => resolve(body));
    request.on('error', reject);
  });
}

/** SIGTERM, then SIGKILL after 3 s (Janus takes ~1 s to stop its threads), then the config goes. */
async function stopJanus(janus: ChildProcess, config: JanusConfig): Promise<void> {
  if (janus.exitCode === null && janus.signalCode === null && janus.pid !== undefined) {
    const exited = new Promise((resolve) => janus.once('exit', resolve));
    janus.kill('SIGTERM');
    const timer = setTimeout(() => janus.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }
  await config.remove();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`error: usage: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
