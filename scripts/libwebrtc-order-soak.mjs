#!/usr/bin/env node
/**
 * How often our libwebrtc echo server echoes a data channel's first messages out of order
 * (docs/workarounds.md, "libwebrtc"): a burst of numbered messages sent the moment the channel
 * opens, against `serve --engine libwebrtc`, from a @roamhq/wrtc client in this process.
 *
 *   node scripts/libwebrtc-order-soak.mjs [--runs N] [--messages M] [--engine NAME]
 *
 * Needs dist/ (npm run build). Prints each reordered run and the count; exits 0 either way.
 */
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import wrtc from '@roamhq/wrtc';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const runs = Number(arg('runs', 100));
const count = Number(arg('messages', 50));
const engine = arg('engine', 'libwebrtc');

const server = spawn(process.execPath, ['dist/cli.js', 'serve', '--host', '127.0.0.1', '--port', '0', '--engine', engine, '--log-level', 'info'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
const url = await new Promise((resolveUrl, reject) => {
  let out = '';
  // The server logs (JSON lines) on stderr; its first lines name the port.
  server.stderr.on('data', (chunk) => {
    out += chunk;
    const port = /listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1];
    if (port) resolveUrl(`http://127.0.0.1:${port}/offer`);
  });
  server.on('exit', () => reject(new Error(`the server exited: ${out.slice(-2000)}`)));
});

async function once() {
  const pc = new wrtc.RTCPeerConnection({ iceServers: [] });
  const channel = pc.createDataChannel('echo');
  const back = [];
  const done = new Promise((resolveDone) => {
    channel.onopen = () => {
      for (let i = 0; i < count; i++) channel.send(String(i));
    };
    channel.onmessage = (event) => back.push(Number(event.data)) === count && resolveDone();
    setTimeout(resolveDone, 10_000);
  });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => (pc.iceGatheringState === 'complete' ? r() : (pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r())));
  const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(pc.localDescription) });
  await pc.setRemoteDescription(await response.json());
  await done;
  pc.close();
  return back;
}

let reordered = 0;
let incomplete = 0;
for (let run = 0; run < runs; run++) {
  const back = await once();
  if (back.length < count) incomplete++;
  else if (back.some((value, i) => value !== i)) {
    reordered++;
    console.log(`run ${run}: ${JSON.stringify(back.slice(0, 12))}…`);
  }
}
console.log(`${reordered} of ${runs} runs echoed the first ${count} messages out of order (${engine}); ${incomplete} incomplete`);
server.kill();
process.exit(0);
