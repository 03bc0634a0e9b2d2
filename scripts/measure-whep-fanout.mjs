// What WHEP playback costs and how fast a viewer sees a picture: one publisher of ours (the
// shipped VP8 clip and Opus, by WHIP) and a growing number of viewers of ours (by WHEP) on one
// server process (`serve --workers 1`); at each step the server's CPU from /proc over `seconds`,
// the packets each viewer got, and for the viewer that joined last: ms from its POST to its first
// video packet and to its first VP8 keyframe (the keyframe request on join). Prints one JSON.
//
//   npm run build
//   node scripts/measure-whep-fanout.mjs [--engine libdatachannel] [--viewers 1,4,8,16] [--seconds 10]
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const { readProc } = await import(`${ROOT}dist/bench/proc-stat.js`);
const { loadEngine } = await import(`${ROOT}dist/engines/registry.js`);
const { loadClip } = await import(`${ROOT}dist/media/clips.js`);
const { MediaPlayer } = await import(`${ROOT}dist/media/media-player.js`);
const { silentLogger: log } = await import(`${ROOT}dist/log.js`);
const { rtpPayloadOf } = await import(`${ROOT}dist/rtp/header-extensions.js`);
const { isVp8KeyframeStart } = await import(`${ROOT}dist/media/vp8-payload-descriptor.js`);

const { values } = parseArgs({ options: { engine: { type: 'string', default: 'libdatachannel' }, viewers: { type: 'string', default: '1,4,8,16' }, seconds: { type: 'string', default: '10' } } });
const steps = values.viewers.split(',').map(Number);
const seconds = Number(values.seconds);

const server = spawn(process.execPath, [`${ROOT}dist/cli.js`, 'serve', '--host', '127.0.0.1', '--port', '0', '--workers', '1', '--engine', values.engine, '--offer-rate', '0', '--max-unconnected-per-address', '1000', '--max-viewers', '64', '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'] });
const base = await new Promise((resolve, reject) => {
  let buffered = '';
  server.stderr.on('data', (chunk) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        const entry = JSON.parse(line);
        if (entry.event === 'listening') resolve(entry.url);
      } catch {
        // not ours
      }
    }
  });
  server.once('exit', (code) => reject(new Error(`server exited ${code}`)));
});

const engine = await loadEngine('libdatachannel');
const peers = [];

/** A client of ours of `direction`, POSTed to `url` and connected. */
async function connect(url, direction) {
  const peer = engine.createClientPeer({ audio: true, video: true, direction, gatherTimeoutMs: 2000, log });
  peers.push(peer);
  const connected = new Promise((resolve) => peer.onStateChange((s) => s === 'connected' && resolve()));
  const offer = await peer.createOffer();
  const postedAt = performance.now();
  const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer.sdp });
  if (response.status !== 201) throw new Error(`POST ${url}: ${response.status} ${await response.text()}`);
  const location = new URL(response.headers.get('location'), url).toString();
  await peer.acceptAnswer({ type: 'answer', sdp: await response.text() });
  await connected;
  return { peer, location, postedAt };
}

const publisher = await connect(`${base}/whip`, 'sendonly');
const id = publisher.location.split('/').pop();
const players = [];
for (const leg of publisher.peer.media.legs) {
  const mid = leg.midExtension;
  const player = new MediaPlayer(leg, await loadClip(leg.kind), { extensions: mid ? [{ id: mid.id, value: Buffer.from(mid.mid) }] : undefined });
  leg.onRtcp((rtcp) => player.handleRtcp(rtcp));
  player.start();
  players.push(player);
}
const clip = await loadClip('video');
const keyframes = clip.frames.filter((f) => f.keyframe).map((f) => f.mediaTime / 90_000);
const keyframeIntervalS = keyframes.length > 1 ? Math.round(((keyframes.at(-1) - keyframes[0]) / (keyframes.length - 1)) * 100) / 100 : null;

const viewers = [];
const results = [];
for (const target of steps) {
  let joined;
  while (viewers.length < target) {
    const viewer = await connect(`${base}/whep/${id}`, 'recvonly');
    viewer.packets = 0;
    viewer.firstPacketMs = undefined;
    viewer.firstKeyframeMs = undefined;
    for (const leg of viewer.peer.media.legs) {
      leg.onRtp((packet) => {
        viewer.packets++;
        if (leg.kind !== 'video') return;
        const since = Math.round(performance.now() - viewer.postedAt);
        viewer.firstPacketMs ??= since;
        if (viewer.firstKeyframeMs === undefined && isVp8KeyframeStart(rtpPayloadOf(packet))) viewer.firstKeyframeMs = since;
      });
    }
    viewers.push(viewer);
    joined = viewer;
  }
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const before = readProc(server.pid);
  const counts = viewers.map((v) => v.packets);
  const sent = players.reduce((n, p) => n + p.stats.packets, 0);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const after = readProc(server.pid);
  const got = viewers.map((v, i) => v.packets - counts[i]);
  const published = players.reduce((n, p) => n + p.stats.packets, 0) - sent;
  results.push({
    viewers: viewers.length,
    serverCpuPercent: Math.round(((after.cpuSeconds - before.cpuSeconds) / seconds) * 1000) / 10,
    serverRssMiB: Math.round(after.rssBytes / 1048576),
    publishedPacketsPerSecond: Math.round(published / seconds),
    viewerPacketsPerSecond: { min: Math.round(Math.min(...got) / seconds), max: Math.round(Math.max(...got) / seconds) },
    lastViewer: joined && { firstVideoPacketMs: joined.firstPacketMs, firstKeyframeMs: joined.firstKeyframeMs },
  });
}

for (const player of players) player.stop();
for (const peer of peers) peer.close();
server.kill('SIGINT');
process.stdout.write(`${JSON.stringify({ engine: values.engine, seconds, clipKeyframeIntervalS: keyframeIntervalS, results }, null, 2)}\n`);
setTimeout(() => process.exit(0), 1500).unref();
