/**
 * Property-based fuzzing of POST /offer with fast-check: arbitrary bodies, and arbitrary
 * mutations of real offers (testdata/offers: Chromium, pion, aiortc, GStreamer, our engines),
 * against a real server of each engine on loopback. Whatever comes in: no 5xx, an answer
 * within a few seconds, the server still healthy, and no session left once the connect
 * timeout has passed.
 *
 * Deterministic: FUZZ_SEED (default below) and FUZZ_RUNS (a multiplier, default 1) choose the
 * cases; on a failure fast-check prints the seed and the shrunk counterexample, and
 * `FUZZ_SEED=<seed> node --import tsx --test test/fuzz/offers.test.ts` replays it. A case that
 * kills the process (a native abort) leaves fast-check no time to report: FUZZ_LOG=<file>
 * writes each mutated offer there before it is sent, so the file holds the culprit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import type { EngineName } from '../../src/engines/engine.js';
import { ROOT } from '../helpers/cli.js';
import { realOffer } from '../helpers/offer-shapes.js';
import { startTestServer } from '../helpers/server.js';
import { eventually, withTimeout } from '../helpers/timeout.js';
import type { EchoServer } from '../../src/signaling/server.js';
import { TESTED_ENGINES } from '../helpers/engines.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_201);
const SCALE = Number(process.env.FUZZ_RUNS ?? 1);
/** A reply slower than this is a stall (an answer takes ~5 ms; mDNS look-ups at most 1.5 s; gathering at most 2 s). */
const REPLY_WITHIN_MS = 6_000;
const CONNECT_TIMEOUT_MS = 1_500;

const OFFERS = readdirSync(`${ROOT}testdata/offers`).map((file) => realOffer(file.replace(/\.json$/, '')).sdp);

/** One edit of an SDP, as data, so fast-check can shrink it. */
type Mutation =
  | { kind: 'delete'; at: number }
  | { kind: 'duplicate'; at: number }
  | { kind: 'swap'; at: number; with: number }
  | { kind: 'replace-line'; at: number; text: string }
  | { kind: 'insert-line'; at: number; text: string }
  | { kind: 'replace-token'; at: number; token: number; text: string }
  | { kind: 'number'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert-char'; at: number; char: string }
  | { kind: 'line-ending'; ending: '\n' | '\r' | '\r\r\n' | '' };

/** SDP-ish text: attribute names and values the stacks look at, and a little of anything. */
const sdpText = fc.oneof(
  fc.constantFrom(
    'a=group:BUNDLE 0 1 2', 'a=group:BUNDLE', 'a=mid:0', 'a=mid:', 'a=bundle-only', 'm=audio 0 UDP/TLS/RTP/SAVPF 111', 'm=video 9 RTP/AVP 96',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'm=text 9 RTP/AVP 0', 'a=setup:passive', 'a=setup:holdconn', 'a=ice-ufrag:', 'a=ice-pwd:x',
    'a=fingerprint:sha-1 00', 'a=fingerprint:md5 00:11', 'a=sctp-port:0', 'a=sctp-port:70000', 'a=max-message-size:-1', 'a=rtpmap:96 VP8/0',
    'a=rtpmap:300 opus/48000/2', 'a=fmtp:96', 'a=rtcp-fb:* nack', 'a=ssrc:0 cname:x', 'a=ssrc-group:FID 1', 'a=extmap:0 urn:x', 'a=extmap:15 x',
    'a=simulcast:send 1;2', 'a=rid:1 send', 'a=candidate:1 1 udp 1 224.0.0.251 5353 typ host', 'a=candidate:1 1 udp 1 x.local 9 typ host',
    'a=candidate:1 1 tcp 1 127.0.0.1 9 typ host tcptype active', 'a=candidate:', 'a=end-of-candidates', 'c=IN IP6 ::', 'c=IN IP4 300.1.1.1',
    'a=ice-options:ice2', 'a=msid-semantic: WMS', 'a=rtcp:9 IN IP4 0.0.0.0', 'b=AS:-1', 't=1 0', 'o=- 1 1 IN IP4', 'v=1',
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), with: fc.nat() }),
  fc.record({ kind: fc.constant('replace-line' as const), at: fc.nat(), text: sdpText }),
  fc.record({ kind: fc.constant('insert-line' as const), at: fc.nat(), text: sdpText }),
  fc.record({ kind: fc.constant('replace-token' as const), at: fc.nat(), token: fc.nat({ max: 8 }), text: sdpText }),
  fc.record({ kind: fc.constant('number' as const), at: fc.nat(), value: fc.oneof(fc.integer(), fc.constantFrom(0, -1, 65535, 65536, 2 ** 31, 2 ** 32, 2 ** 53)) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert-char' as const), at: fc.nat(), char: fc.constantFrom('\0', '\x01', '\x7f', '\u0085', '\ufffd', '\ud800', ' ', '\t', '=', ':', '\r', '\n') }),
  fc.record({ kind: fc.constant('line-ending' as const), ending: fc.constantFrom('\n' as const, '\r' as const, '\r\r\n' as const, '' as const) }),
);

function mutate(sdp: string, mutations: Mutation[]): string {
  let lines = sdp.split('\r\n');
  let ending = '\r\n';
  for (const m of mutations) {
    const i = 'at' in m ? m.at % Math.max(1, lines.length) : 0;
    switch (m.kind) {
      case 'delete': lines.splice(i, 1); break;
      case 'duplicate': lines.splice(i, 0, lines[i] ?? ''); break;
      case 'swap': { const j = m.with % Math.max(1, lines.length); [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? '']; break; }
      case 'replace-line': lines[i] = m.text; break;
      case 'insert-line': lines.splice(i, 0, m.text); break;
      case 'replace-token': {
        const tokens = (lines[i] ?? '').split(' ');
        tokens[m.token % tokens.length] = m.text;
        lines[i] = tokens.join(' ');
        break;
      }
      case 'number': lines[i] = (lines[i] ?? '').replace(/\d+/, String(m.value)); break;
      case 'truncate': lines = lines.slice(0, Math.max(1, i)); break;
      case 'insert-char': { const line = lines[i] ?? ''; const at = m.at % (line.length + 1); lines[i] = line.slice(0, at) + m.char + line.slice(at); break; }
      case 'line-ending': ending = m.ending; break;
    }
  }
  return lines.join(ending);
}

/** An arbitrary body: JSON of any shape, offers with odd fields, text, bytes. */
const body: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc.record({ type: fc.oneof(fc.constant('offer'), fc.string()), sdp: fc.oneof(fc.string(), fc.json(), fc.constant(null)) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }),
  fc.constantFrom('{"type":"offer","sdp":"v=0\\r\\n"}', '{"__proto__":{"type":"offer"}}', '{"type":"offer","sdp":"v=0\\r\\n","constructor":{"prototype":{}}}', '[]', 'null', '"offer"', '{'),
);

async function post(server: EchoServer, payload: string | Uint8Array): Promise<{ status: number; text: string }> {
  const response = await withTimeout(
    fetch(`${server.url}/offer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof payload === 'string' ? payload : Buffer.from(payload) }),
    REPLY_WITHIN_MS,
    'the server answers a fuzzed offer',
  );
  return { status: response.status, text: await response.text() };
}

async function checkHealthyAndEmpty(server: EchoServer): Promise<void> {
  const health = await withTimeout(fetch(`${server.url}/healthz`), 2_000, '/healthz after the fuzz run');
  assert.equal(health.status, 200);
  await eventually(() => server.sessions.size === 0, CONNECT_TIMEOUT_MS + 10_000, 'every fuzzed session released');
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.doesNotMatch(metrics, /reason="ECHO_ERR_INTERNAL"/, 'no internal error counted');
}

function startFuzzServer(t: Parameters<typeof startTestServer>[0], engine: EngineName) {
  return startTestServer(t, engine, { connectTimeoutMs: CONNECT_TIMEOUT_MS, maxSessions: 100_000 });
}

test('arbitrary bodies never get a 5xx and never leave a session behind', { timeout: 120_000 }, async (t) => {
  const server = await startFuzzServer(t, 'libdatachannel');
  await fc.assert(
    fc.asyncProperty(body, async (payload) => {
      const { status, text } = await post(server, payload);
      assert.ok(status < 500, `status ${status}: ${text}`);
    }),
    { seed: SEED, numRuns: 150 * SCALE },
  );
  await checkHealthyAndEmpty(server);
});

const RUNS: Record<EngineName, number> = { libdatachannel: 250, werift: 120, libwebrtc: 50, native: 250 };

for (const engine of (Object.keys(RUNS) as EngineName[]).filter((name) => TESTED_ENGINES.includes(name))) {
  test(`mutations of real offers never get a 5xx from a ${engine} server, never stall or crash it, never leave a session behind`, { timeout: 180_000 }, async (t) => {
    const server = await startFuzzServer(t, engine);
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: OFFERS.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), async (index, mutations) => {
        const sdp = mutate(OFFERS[index]!, mutations);
        if (process.env.FUZZ_LOG) writeFileSync(process.env.FUZZ_LOG, JSON.stringify({ engine, sdp }));
        const { status, text } = await post(server, JSON.stringify({ type: 'offer', sdp }));
        assert.ok(status < 500, `status ${status}: ${text}`);
        if (status === 200) answered++;
      }),
      { seed: SEED, numRuns: RUNS[engine] * SCALE },
    );
    // Some mutations must still be offers a stack takes, or the stacks were never fuzzed.
    assert.ok(answered > 0, 'some mutated offers were answered');
    t.diagnostic(`${answered} of ${RUNS[engine] * SCALE} mutated offers answered`);
    await checkHealthyAndEmpty(server);
  });
}
