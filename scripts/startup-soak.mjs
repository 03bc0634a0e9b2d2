#!/usr/bin/env node
/**
 * Start-up soak: one server, many client processes, counts what a single run hides.
 *
 *   node scripts/startup-soak.mjs [--server CMD] [--client CMD] [--test 0|1]
 *        [--runs N] [--concurrency C] [--stall-ms MS] [--json]
 *
 * CMD strings take {port} (server) and {url} (client). Defaults: our server
 * (`node dist/cli.js serve --host 127.0.0.1 --port {port}`) and our client (`node dist/cli.js client -s {url}
 * -t T --json`). Our client's --json result gives `attempts` and its timings; a foreign
 * client's `answer_ms N` / `connected_ms N` stderr lines are read instead.
 *
 * Counted per run: pass or fail (exit code), retried (attempts > 1, counted as a failure of
 * the first attempt), stall (answer received -> connected over --stall-ms, default 500).
 * Reported: those counts and the p50/p95/max of answer -> connected.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = parseArgs(process.argv.slice(2));
const test = args.test ?? '0';
const runs = Number(args.runs ?? 20);
const concurrency = Number(args.concurrency ?? 1);
const stallMs = Number(args['stall-ms'] ?? 500);
const serverCmd = args.server ?? 'node dist/cli.js serve --host 127.0.0.1 --port {port} --log-level warn';
const clientCmd = args.client ?? `node dist/cli.js client -s {url} -t ${test} --json`;

const port = await freePort();
const url = `http://127.0.0.1:${port}/offer`;
const server = spawn('sh', ['-c', `exec ${serverCmd.replaceAll('{port}', String(port))}`], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
let serverErr = '';
server.stderr.on('data', (chunk) => (serverErr = (serverErr + chunk).slice(-20_000)));
try {
  await waitForServer(port, 20_000);
  const results = [];
  let next = 0;
  const worker = async () => {
    while (next < runs) {
      const index = next++;
      results[index] = await runClient(index);
      if (!args.json) process.stderr.write(results[index].ok ? (results[index].retried ? 'r' : results[index].stall ? 's' : '.') : 'F');
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (!args.json) process.stderr.write('\n');
  report(results);
} finally {
  server.kill('SIGTERM');
  await new Promise((done) => {
    const timer = setTimeout(() => (server.kill('SIGKILL'), done()), 3_000);
    server.on('exit', () => (clearTimeout(timer), done()));
  });
}

function runClient(index) {
  return new Promise((done) => {
    const child = spawn('sh', ['-c', `exec ${clientCmd.replaceAll('{url}', url)}`], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('exit', (code) => {
      const result = { index, ok: code === 0, code };
      const json = parseJson(out);
      if (json) {
        result.attempts = json.attempts ?? 1;
        result.answerMs = json.timings?.answerReceived;
        result.connectedMs = json.timings?.connected;
        if (!json.ok) result.why = `${json.reason}: ${json.message}`;
      } else {
        result.answerMs = number(err, 'answer_ms');
        result.connectedMs = number(err, 'connected_ms');
      }
      if (!result.ok && !result.why) result.why = (err.trim().split('\n').filter((line) => !line.startsWith('{')).pop() ?? '').slice(0, 200);
      // Our client logs a warning line for every retried start-up failure.
      if (json?.attempts > 1 || /retrying once/.test(err)) result.retried = true;
      if (result.answerMs !== undefined && result.connectedMs !== undefined) result.setupMs = round(result.connectedMs - result.answerMs);
      result.stall = result.setupMs !== undefined && result.setupMs > stallMs;
      done(result);
    });
  });
}

function report(results) {
  const setups = results.map((r) => r.setupMs).filter((v) => v !== undefined).sort((a, b) => a - b);
  const summary = {
    server: serverCmd,
    client: clientCmd,
    runs: results.length,
    concurrency,
    passed: results.filter((r) => r.ok).length,
    failed: results.filter((r) => !r.ok).length,
    retried: results.filter((r) => r.retried).length,
    stalls: results.filter((r) => r.stall).length,
    answerToConnectedMs: { p50: quantile(setups, 0.5), p95: quantile(setups, 0.95), max: setups.at(-1) },
    failures: results.filter((r) => !r.ok || r.retried || r.stall).map((r) => ({ run: r.index, ok: r.ok, retried: !!r.retried, setupMs: r.setupMs, why: r.why })),
  };
  console.log(JSON.stringify(summary, null, args.json ? 0 : 2));
}

function quantile(sorted, q) {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function number(text, key) {
  const match = new RegExp(`(?:^|\\s)${key} (\\d+(?:\\.\\d+)?)`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

function parseJson(text) {
  const line = text.trim().split('\n').find((l) => l.startsWith('{'));
  if (!line) return undefined;
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

function round(v) {
  return Math.round(v * 10) / 10;
}

async function waitForServer(p, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (server.exitCode !== null) throw new Error(`the server exited (${server.exitCode}): ${serverErr.slice(-2000)}`);
    try {
      await fetch(`http://127.0.0.1:${p}/offer`, { method: 'OPTIONS' });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('the server did not listen in time');
}

function freePort() {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.on('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port: p } = probe.address();
      probe.close(() => done(p));
    });
  });
}

function parseArgs(list) {
  const out = {};
  for (let i = 0; i < list.length; i++) {
    const key = list[i].replace(/^--/, '');
    if (key === 'json') out.json = true;
    else out[key] = list[++i];
  }
  return out;
}
