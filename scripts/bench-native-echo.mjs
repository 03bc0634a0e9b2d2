#!/usr/bin/env node
/**
 * Server CPU per echoed packet of the native data plane, with a simple generator
 * (native/bench/echo_load.cc, built here against Debian's OpenSSL): N sessions of SRTP at a
 * fixed total rate to a plane in this process, whose data-plane thread ("echo-plane") and whole
 * process are measured from /proc/self/task/<tid>/schedstat over the sending phase.
 *
 *   node scripts/bench-native-echo.mjs [--sessions 16] [--rate 32000] [--seconds 10]
 *        [--payload 1200] [--profile SRTP_AEAD_AES_128_GCM] [--mux] [--runs 3]
 *        [--handshakeBatch N]   at most N DTLS handshakes at a time (default: all at once)
 *        [--coalesce µs]        the plane's coalesceMicroseconds (default: the plane's, 200)
 *
 * Not the engine benchmark (that one drives the integrated engine with pion's load worker):
 * this isolates the data plane. Linux only (schedstat).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function options() {
  const out = { sessions: 16, rate: 32000, seconds: 10, payload: 1200, profile: 'SRTP_AEAD_AES_128_GCM', mux: false, runs: 3, handshakeBatch: 1_000_000, coalesce: undefined };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '');
    if (key === 'mux') out.mux = true;
    else if (key in out) out[key] = key === 'profile' ? argv[++i] : Number(argv[++i]);
    else throw new Error(`unknown option ${argv[i]}`);
  }
  return out;
}

function buildGenerator() {
  const dir = join(root, 'native', 'build-bench');
  mkdirSync(dir, { recursive: true });
  const binary = join(dir, 'echo_load');
  const sources = ['dtls_transport', 'certificate', 'srtp_cipher', 'srtp_profile', 'replay_window', 'udp_socket', 'endpoint'];
  const result = spawnSync(
    'c++',
    ['-std=c++17', '-O2', '-o', binary, join(root, 'native', 'bench', 'echo_load.cc'), ...sources.map((s) => join(root, 'native', 'src', `${s}.cc`)), '-lssl', '-lcrypto'],
    { stdio: 'inherit' },
  );
  if (result.status !== 0) throw new Error('cannot build the generator (needs c++ and libssl-dev)');
  return binary;
}

/** Resident set size of this process, in bytes. */
function rss() {
  return Number(readFileSync('/proc/self/statm', 'utf8').split(' ')[1]) * 4096;
}

/** CPU seconds of another process (utime + stime of /proc/PID/stat), e.g. the generator's. */
function processCpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** CPU nanoseconds of this process's threads: the data-plane thread's and all of them. */
function cpu() {
  let plane = 0;
  let total = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      total += ns;
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'echo-plane') plane += ns;
    } catch {
      // a thread that ended meanwhile
    }
  }
  return { plane, total };
}

async function run(addon, generator, o) {
  globalThis.gc?.();
  const rssBefore = rss();
  const plane = addon.createPlane(() => {}, o.coalesce === undefined ? undefined : { coalesceMicroseconds: o.coalesce });
  if (typeof plane === 'string') throw new Error(plane);
  const args = ['--sessions', o.sessions, '--rate', o.rate, '--seconds', o.seconds, '--payload', o.payload, '--profile', o.profile, '--handshake-batch', o.handshakeBatch];
  const child = spawn(generator, args.map(String), {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  // Lines in order; the generator may exit before the last one is read.
  const queue = [];
  const waiters = [];
  let ended = false;
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => (waiters.length ? waiters.shift().resolve(line) : queue.push(line)));
  lines.on('close', () => {
    ended = true;
    for (const waiter of waiters.splice(0)) waiter.reject(new Error('the generator ended early'));
  });
  const next = () =>
    new Promise((resolvePromise, reject) => {
      if (queue.length) resolvePromise(queue.shift());
      else if (ended) reject(new Error('the generator ended early'));
      else waiters.push({ resolve: resolvePromise, reject });
    });
  try {
    const [, fingerprint, ports] = (await next()).split(' ');
    const shared = o.mux ? plane.openSocket({ address: '127.0.0.1', portMin: 0, portMax: 0 }) : undefined;
    const serverPorts = [];
    ports.split(',').forEach((port, i) => {
      const socket = shared ?? plane.openSocket({ address: '127.0.0.1', portMin: 0, portMax: 0 });
      const session = plane.createSession({
        socket: socket.socket,
        dtlsRole: 'server',
        remoteFingerprint: { algorithm: 'sha-256', value: fingerprint },
        srtpProfiles: [o.profile],
        // The mid extension id is per section since the plane took werift's per-section extmap.
        sections: [{ mid: '0', echoSsrc: 0xe000 + i, payloadTypes: [96], offeredSsrcs: [], midExtensionId: 0 }],
      });
      // An options shape the plane refuses comes back as a string: say so, not "handshakes timed out".
      if (typeof session === 'string') throw new Error(`createSession: ${session}`);
      plane.allowRemote(session, { address: '127.0.0.1', port: Number(port) });
      plane.selectRemote(session, { address: '127.0.0.1', port: Number(port) });
      serverPorts.push(socket.local.port);
    });
    globalThis.gc?.();
    const rssCreated = rss();
    child.stdin.write(`go 127.0.0.1 ${plane.fingerprint.value} ${serverPorts.join(',')}\n`);
    const connected = await next();
    await next(); // sending
    const before = cpu();
    const generatorBefore = processCpuSeconds(child.pid);
    const result = await next();
    const after = cpu();
    const generatorAfter = processCpuSeconds(child.pid);
    // Steady state: every session connected, after the traffic.
    globalThis.gc?.();
    const rssConnected = rss();
    const values = Object.fromEntries(result.split(' ').slice(1).map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]));
    const echoed = values.received;
    return {
      handshakesMs: Number(connected.split(' ')[1]),
      sentPerSecond: Math.round(values.sent / values.seconds),
      loss: 1 - echoed / values.sent,
      bad: values.bad,
      rttP50us: values.rttP50us,
      rttP99us: values.rttP99us,
      planeUsPerPacket: (after.plane - before.plane) / 1000 / echoed,
      processUsPerPacket: (after.total - before.total) / 1000 / echoed,
      planeCore: (after.plane - before.plane) / 1e9 / values.seconds,
      // The generator's share of a core over the sending phase (it is single-threaded: near 1, it is the limit).
      generatorCore: (generatorAfter - generatorBefore) / values.seconds,
      rssPerSessionKiB: (rssConnected - rssBefore) / 1024 / o.sessions,
      rssBeforeHandshakeKiB: (rssCreated - rssBefore) / 1024 / o.sessions,
    };
  } finally {
    child.kill();
    plane.close();
  }
}

const o = options();
const addon = process.env.WEBRTC_ECHO_NATIVE_ADDON ? require(resolve(process.env.WEBRTC_ECHO_NATIVE_ADDON)) : require('node-gyp-build')(join(root, 'native'));
const generator = buildGenerator();
const results = [];
for (let i = 0; i < o.runs; i++) {
  const result = await run(addon, generator, o);
  results.push(result);
  console.log(JSON.stringify(result));
}
const median = (key) => results.map((r) => r[key]).sort((a, b) => a - b)[Math.floor(results.length / 2)];
console.log(
  `${o.sessions} sessions x ${Math.round(o.rate / o.sessions)} pkt/s, ${o.payload}-byte payloads, ${o.profile}, ${o.mux ? 'one shared port' : 'a port per session'}, coalescing ${o.coalesce ?? 'default'}: ` +
    `median ${median('planeUsPerPacket').toFixed(2)} µs per echoed packet on the data-plane thread, ` +
    `${median('processUsPerPacket').toFixed(2)} µs for the whole server process, loss ${(median('loss') * 100).toFixed(2)}%, ` +
    `echo round trip p50 ${median('rttP50us').toFixed(0)} µs, p99 ${median('rttP99us').toFixed(0)} µs (as the generator sees it), ` +
    `data-plane thread ${median('planeCore').toFixed(2)} of a core, generator ${median('generatorCore').toFixed(2)} of a core, ` +
    `RSS ${median('rssPerSessionKiB').toFixed(1)} KiB per connected session (${o.runs} runs)`,
);
