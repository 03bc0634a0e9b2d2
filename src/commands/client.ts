import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createLogger, LOG_LEVELS } from '../log.js';
import { CLIENT_ENGINE_NAMES, DEFAULT_CLIENT_ENGINE } from '../engines/registry.js';
import { describePair, type EngineName } from '../engines/engine.js';
import type { IceServer } from '../net/ice-server.js';
import { runClient, type ClientResult, type TestType } from '../client/run-client.js';
import { STEPS, STEP_LABELS } from '../client/timings.js';
import { collect, parseIceServer, parsePositiveInt, secondsOption } from './parse.js';

export const DEFAULT_OFFER_URL = 'http://localhost:8080/offer';

export const clientCommand = new Command('client')
  .description('run the echo client peer: offer, POST, connect, check the echo; exit 0 on success, 1 on failure')
  .argument('[url]', `the server's /offer URL (same as -s)`)
  .option('-s, --server <url>', `the server's /offer URL (default ${DEFAULT_OFFER_URL})`)
  .addOption(new Option('-t, --test <type>', '0: peer connection, 1: data channel echo (any other: exit 127, unsupported)').default('0'))
  .addOption(new Option('-e, --engine <engine>', 'WebRTC stack (native is a server only)').choices(CLIENT_ENGINE_NAMES).default(DEFAULT_CLIENT_ENGINE))
  .option('--media', 'test 0: send real VP8 and Opus and require them echoed back', false)
  .option('--no-audio', 'test 0: offer no audio section')
  .option('--no-video', 'test 0: offer no video section')
  .option('--media-packets <n>', 'with --media: echoed packets required on each track', parsePositiveInt, 10)
  .addOption(secondsOption('--timeout <seconds>', 'give up (exit 1) after this long', 15_000))
  .option('--ca <file>', 'PEM certificate(s) to trust for an https:// server (self-signed or private CA); NODE_EXTRA_CA_CERTS works too')
  // Hidden: for tests and the bench (a client that stays, or one that is killed while it stays).
  .addOption(secondsOption('--hold <seconds>', 'after passing, keep the connection open and idle this long', 0).hideHelp())
  .option('--ice-server <url>', 'STUN/TURN server: stun:HOST:PORT or turn://USER:PASS@HOST:PORT?transport=udp|tcp (repeatable)', collect(parseIceServer))
  .option('--relay-only', 'use relay (TURN) candidates only', false)
  .option('--whip <url>', 'instead of the Echo Test: publish our media to this WHIP endpoint (RFC 9725) and check what it does, item by item; exit 1 when an item fails')
  .option('--whep <url>', 'with --whip: watch the published stream come back from this WHEP endpoint ({id}: the WHIP session id), e.g. http://host:8080/whep/{id}')
  .option('--token <token>', 'with --whip: a bearer token for every request (Authorization: Bearer)')
  .option('--json', 'print the result as one JSON object on stdout', false)
  .addOption(new Option('--log-level <level>', 'log level (stderr)').choices(LOG_LEVELS).default('warn'))
  .action(async (positional: string | undefined, opts: ClientOptions) => {
    if (opts.whip !== undefined) return whipCheck(opts);
    if (opts.whep !== undefined || opts.token !== undefined) throw new InvalidArgumentError('--whep and --token go with --whip');
    if (!SUPPORTED_TESTS.includes(opts.test)) {
      // The interop runners' convention (QUIC interop runner): 127 says "this client cannot run that test", not "it failed".
      process.stderr.write(`webrtc-echo client: FAIL unsupported: test type ${JSON.stringify(opts.test)} is not one this client runs (${SUPPORTED_TESTS.join(', ')})\n`);
      process.exitCode = EXIT_UNSUPPORTED;
      return;
    }
    const url = normalizeUrl(opts.server ?? positional ?? DEFAULT_OFFER_URL);
    if (!opts.audio && !opts.video && opts.test === '0') throw new InvalidArgumentError('test 0 needs audio or video');
    if (opts.relayOnly && !opts.iceServer?.some((s) => /^turns?:/i.test(s.urls))) throw new InvalidArgumentError('--relay-only needs a TURN server (--ice-server turn://...)');
    const result = await runClient({
      url,
      test: Number(opts.test) as TestType,
      engine: opts.engine,
      timeoutMs: opts.timeout,
      media: opts.media,
      audio: opts.audio,
      video: opts.video,
      mediaPackets: opts.mediaPackets,
      network: { iceServers: opts.iceServer, relayOnly: opts.relayOnly },
      ca: opts.ca === undefined ? undefined : readCa(opts.ca),
      holdMs: opts.hold,
      onHold: () => process.stderr.write(`webrtc-echo client: holding the connection for ${opts.hold / 1000} s\n`),
      log: createLogger(opts.logLevel),
    });
    if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else process.stdout.write(formatResult(result));
    if (!result.ok) process.stderr.write(`webrtc-echo client: FAIL ${result.reason}: ${result.message}\n`);
    process.exitCode = result.ok ? 0 : 1;
  });

/** Exit code of a client asked for a test type it does not implement. */
export const EXIT_UNSUPPORTED = 127;
const SUPPORTED_TESTS = ['0', '1'];

interface ClientOptions {
  whip?: string;
  whep?: string;
  token?: string;
  server?: string;
  test: string;
  engine: EngineName;
  media: boolean;
  audio: boolean;
  video: boolean;
  mediaPackets: number;
  iceServer?: IceServer[];
  relayOnly: boolean;
  timeout: number;
  ca?: string;
  hold: number;
  json: boolean;
  logLevel: (typeof LOG_LEVELS)[number];
}

/** `--whip URL`: the WHIP conformance check (src/client/whip/run.ts); exit 0 when no item fails. */
async function whipCheck(opts: ClientOptions): Promise<void> {
  const { runWhipCheck } = await import('../client/whip/run.js');
  if (!opts.audio && !opts.video) throw new InvalidArgumentError('--whip needs audio or video');
  const result = await runWhipCheck({
    url: new URL(/^[a-z]+:\/\//i.test(opts.whip!) ? opts.whip! : `http://${opts.whip}`).toString(),
    whep: opts.whep,
    engine: opts.engine,
    timeoutMs: opts.timeout,
    audio: opts.audio,
    video: opts.video,
    token: opts.token,
    network: { iceServers: opts.iceServer, relayOnly: opts.relayOnly },
    ca: opts.ca === undefined ? undefined : readCa(opts.ca),
    log: createLogger(opts.logLevel),
  });
  if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stdout.write(formatWhipResult(result));
  const failed = result.items.filter((item) => item.status === 'fail');
  if (failed.length > 0) process.stderr.write(`webrtc-echo client: FAIL whip: ${failed.map((item) => item.name).join(', ')}\n`);
  process.exitCode = result.ok ? 0 : 1;
}

function formatWhipResult(result: import('../client/whip/run.js').WhipCheckResult): string {
  const lines = [`${result.ok ? 'PASS' : 'FAIL'} WHIP check of ${result.url} (engine ${result.engine})`];
  for (const item of result.items) lines.push(`  ${item.status.toUpperCase().padEnd(4)} ${item.name.padEnd(20)} ${item.detail}`);
  return `${lines.join('\n')}\n`;
}

function readCa(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new InvalidArgumentError(`cannot read the CA file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** A bare host:port is accepted too; a URL without a path gets /offer. */
function normalizeUrl(raw: string): string {
  const url = new URL(/^[a-z]+:\/\//i.test(raw) ? raw : `http://${raw}`);
  if (url.pathname === '/') url.pathname = '/offer';
  return url.toString();
}

function formatResult(result: ClientResult): string {
  const lines = [`${result.ok ? 'PASS' : 'FAIL'} test ${result.test} against ${result.url} (engine ${result.engine})`];
  for (const step of STEPS) {
    const ms = result.timings[step];
    if (ms !== undefined) lines.push(`  ${STEP_LABELS[step].padEnd(16)} ${ms.toFixed(1).padStart(8)} ms`);
  }
  for (const [kind, leg] of Object.entries(result.media ?? {})) {
    const rtt = leg.rttMs ? `, round trip p50 ${leg.rttMs.p50} ms (max ${leg.rttMs.max})` : ', re-encoded by the server (no round trip)';
    lines.push(`  ${kind} echo: ${leg.echoed} packets back of ${leg.sent} sent${leg.resent ? ` (+${leg.resent} resent on NACK)` : ''}${rtt}`);
  }
  if (result.selectedPair) lines.push(`  selected pair: ${describePair(result.selectedPair)}`);
  if (result.dataChannel?.rttMs !== undefined) lines.push(`  data channel: "${result.dataChannel.sent}" echoed in ${result.dataChannel.rttMs} ms`);
  for (const check of result.checks) lines.push(`  ${check.status.padEnd(4)} ${check.name}: ${check.detail}`);
  return `${lines.join('\n')}\n`;
}
