// How long after its client goes does a server release the session? Runs our server in a
// child process and, one after another, CLI clients that pass their test and then either
// get SIGKILLed while holding the connection (`kill`) or close normally (`close`); prints
// one JSON line per run (ms from the kill, or from the client's exit, until /healthz says 0
// sessions, and the close reasons the server logged) and a summary.
//
//   npm run build
//   node scripts/measure-release.mjs <server engine> <client engine> <test 0|1> <media 0|1> <runs> [kill|close] [serve options…]
//   node scripts/measure-release.mjs werift libdatachannel 1 0 10 kill
//
// ROOT=<checkout>/ measures another build (one without --hold can run only `close`).
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = process.env.ROOT ?? fileURLToPath(new URL('../', import.meta.url));
const [server, client, test, media, runsArg, mode = 'kill', ...serveExtra] = process.argv.slice(2);
if (!server || !client || !test || !media || !runsArg || !['kill', 'close'].includes(mode)) {
  console.error('usage: measure-release.mjs <server engine> <client engine> <test 0|1> <media 0|1> <runs> [kill|close] [serve options…]');
  process.exit(2);
}
const runs = Number(runsArg);
const port = await new Promise((resolve) => {
  const probe = createServer();
  probe.listen(0, '127.0.0.1', () => {
    const { port } = probe.address();
    probe.close(() => resolve(port));
  });
});
const cli = `${ROOT}dist/cli.js`;
const srv = spawn(process.execPath, [cli, 'serve', '--host', '127.0.0.1', '--port', String(port), '--engine', server, '--log-level', 'info', ...serveExtra], {
  stdio: ['ignore', 'ignore', 'pipe'],
});
const closes = [];
let pending = '';
srv.stderr.on('data', (data) => {
  pending += data;
  for (let i; (i = pending.indexOf('\n')) >= 0; pending = pending.slice(i + 1)) {
    try {
      const line = JSON.parse(pending.slice(0, i));
      if (line.event === 'session-closed') closes.push(line);
    } catch {
      // not a log line
    }
  }
});
const base = `http://127.0.0.1:${port}`;
const sessions = async () => {
  try {
    return (await (await fetch(`${base}/healthz`)).json()).sessions;
  } catch {
    return -1;
  }
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
while ((await sessions()) < 0) await sleep(100);

const results = [];
for (let run = 0; run < runs; run++) {
  const args = [cli, 'client', '-s', `${base}/offer`, '-t', test, '--engine', client, '--json', ...(media === '1' ? ['--media'] : []), ...(mode === 'kill' ? ['--hold', '120'] : [])];
  const closedBefore = closes.length;
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise((resolve) => child.on('close', resolve));
  const holding = new Promise((resolve) => {
    child.stderr.on('data', (data) => {
      stderr += data;
      if (stderr.includes('holding the connection')) resolve(true);
    });
    void exited.then(() => resolve(false));
  });
  let from;
  if (mode === 'kill') {
    if (!(await Promise.race([holding, sleep(30_000).then(() => false)]))) {
      child.kill('SIGKILL');
      console.error(`run ${run}: the client did not get to hold: ${stderr.trim()}`);
      continue;
    }
    await sleep(200 + Math.random() * 3000); // kill at a random point between consent checks
    from = performance.now();
    child.kill('SIGKILL');
  } else {
    await exited;
    from = performance.now();
  }
  while ((await sessions()) !== 0 && performance.now() - from < 60_000) await sleep(50);
  const ms = Math.round(performance.now() - from);
  const reasons = closes.slice(closedBefore).map((line) => line.reason);
  results.push(ms);
  console.log(JSON.stringify({ server, client, test, media, mode, run, ms, reasons }));
}
srv.kill('SIGTERM');
results.sort((a, b) => a - b);
console.log(JSON.stringify({ summary: true, server, client, test, media, mode, n: results.length, min: results[0], median: results[Math.floor(results.length / 2)], max: results.at(-1) }));
