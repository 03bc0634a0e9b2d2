// What a flood of refused bodies costs the server (src/signaling/refused-body.ts): `clients`
// connections at once each POST /offer a body of `mib` MiB as fast as loopback takes it, `rounds`
// times over. Runs our server in a child process (defaults as deployed, one worker) and measures
// it from /proc: CPU seconds, peak RSS; for the clients: how many read their 413 (or 429), how
// many lost it, how long it took; for everyone else: /healthz latency every 100 ms and a data
// channel echo test (client -t 1) during the flood. Prints one JSON summary.
//
//   npm run build
//   node scripts/measure-body-flood.mjs [--clients 100] [--mib 40] [--rounds 1] [--chunked] [serve options…]
//
// ROOT=<checkout>/ measures another build's server.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = fileURLToPath(new URL('../', import.meta.url));
const ROOT = process.env.ROOT ?? HERE;
const { readProc } = await import(`${HERE}dist/bench/proc-stat.js`);
const { values, positionals } = parseArgs({
  options: { clients: { type: 'string', default: '100' }, mib: { type: 'string', default: '40' }, rounds: { type: 'string', default: '1' }, chunked: { type: 'boolean', default: false } },
  allowPositionals: true,
});
const clients = Number(values.clients);
const size = Number(values.mib) * 1024 * 1024;
const rounds = Number(values.rounds);

const server = spawn(process.execPath, [`${ROOT}dist/cli.js`, 'serve', '--host', '127.0.0.1', '--port', '0', '--workers', '1', '--log-level', 'info', ...positionals], { stdio: ['ignore', 'ignore', 'pipe'] });
const cuts = {};
const port = await new Promise((resolve, reject) => {
  let buffered = '';
  server.stderr.on('data', (chunk) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        const entry = JSON.parse(line);
        if (entry.event === 'listening') resolve(Number(new URL(entry.url).port));
        if (entry.event === 'refused-body-cut') cuts[entry.reason] = (cuts[entry.reason] ?? 0) + 1;
      } catch {
        process.stderr.write(`${line}\n`);
      }
    }
  });
  server.on('exit', (code) => reject(new Error(`server exited ${code}`)));
});

/** One upload: resolves with the status line it read (or the error that ended it) and its time. */
function upload() {
  return new Promise((resolve) => {
    const start = performance.now();
    // From another address than the echo test's: the per-address offer rate counts the flood's requests.
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
    let reply = '';
    let sent = 0;
    let finished = false;
    const done = (outcome) => {
      if (finished) return;
      finished = true;
      socket.destroy();
      resolve({ outcome, ms: performance.now() - start });
    };
    const complete = () => {
      const head = reply.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(reply)?.[1];
      if (sent >= size && head !== -1 && length !== undefined && reply.length >= head + 4 + Number(length)) done(reply.slice(9, 12));
    };
    socket.on('data', (chunk) => {
      reply += chunk;
      complete();
    });
    socket.on('error', (err) => done(err.code ?? 'error'));
    socket.on('close', () => done(reply ? `${reply.slice(9, 12)}-then-closed` : 'closed'));
    socket.write(`POST /offer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${values.chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${size}`}\r\n\r\n`);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const pump = () => {
      while (sent < size && !finished) {
        const piece = chunk.subarray(0, Math.min(chunk.length, size - sent));
        sent += piece.length;
        const ok = values.chunked ? socket.write(`${piece.length.toString(16)}\r\n${piece}\r\n`) : socket.write(piece);
        if (!ok) return void socket.once('drain', pump);
      }
      if (values.chunked) socket.write('0\r\n\r\n');
      socket.write('', complete);
    };
    pump();
  });
}

const quantile = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : undefined);
await new Promise((r) => setTimeout(r, 500));
const before = readProc(server.pid);
let peakRss = before.rssBytes;
const rssPoll = setInterval(() => {
  const now = readProc(server.pid);
  if (now) peakRss = Math.max(peakRss, now.rssBytes);
}, 100);
const healthMs = [];
let flooding = true;
const healthLoop = (async () => {
  while (flooding) {
    const start = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    await res.arrayBuffer();
    healthMs.push(performance.now() - start);
    await new Promise((r) => setTimeout(r, 100));
  }
})();

const start = performance.now();
const echoTest = new Promise((resolve) => {
  // The echo test starts once the flood is under way.
  setTimeout(() => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [`${ROOT}dist/cli.js`, 'client', '-s', `http://127.0.0.1:${port}/offer`, '-t', '1'], { stdio: 'ignore' });
    child.on('exit', (code) => resolve({ code, ms: Math.round(performance.now() - t0) }));
  }, 200);
});
const results = [];
await Promise.all(
  Array.from({ length: clients }, async () => {
    for (let r = 0; r < rounds; r++) results.push(await upload());
  }),
);
const floodMs = performance.now() - start;
const echo = await echoTest;
flooding = false;
await healthLoop;
clearInterval(rssPoll);
const after = readProc(server.pid);
await new Promise((r) => setTimeout(r, 300)); // the last log lines
server.kill('SIGTERM');

const outcomes = {};
for (const r of results) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
const times = results.map((r) => r.ms).sort((a, b) => a - b);
const health = healthMs.sort((a, b) => a - b);
const gib = (clients * rounds * size) / 2 ** 30;
const cpu = after.cpuSeconds - before.cpuSeconds;
console.log(
  JSON.stringify(
    {
      clients,
      mib: size / 2 ** 20,
      rounds,
      framing: values.chunked ? 'chunked' : 'content-length',
      serveArgs: positionals,
      bodyGiB: Number(gib.toFixed(2)),
      floodSeconds: Number((floodMs / 1000).toFixed(2)),
      outcomes,
      cutByServer: cuts,
      uploadMs: { p50: Math.round(quantile(times, 0.5)), p95: Math.round(quantile(times, 0.95)), max: Math.round(times.at(-1)) },
      server: {
        cpuSeconds: Number(cpu.toFixed(2)),
        cpuSecondsPerGiB: Number((cpu / gib).toFixed(2)),
        rssMiBBefore: Math.round(before.rssBytes / 2 ** 20),
        rssMiBPeak: Math.round(peakRss / 2 ** 20),
      },
      healthzMs: { n: health.length, p50: Number(quantile(health, 0.5)?.toFixed(1)), max: Number(health.at(-1)?.toFixed(1)) },
      echoTestDuringFlood: echo,
    },
    null,
    2,
  ),
);
