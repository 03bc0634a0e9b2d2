/**
 * A non-browser ingest client against /whip: our GStreamer webrtcbin WHIP client
 * (interop/peers/gstreamer/whip_client.py: Opus and VP8 from test sources, sendonly,
 * non-trickle) publishes to our server while a viewer of ours watches it by WHEP; the client's
 * DELETE ends both. What webrtcbin encodes must reach the viewer as VP8 and Opus.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { loadClientEngine } from '../../src/engines/registry.js';
import { isVp8KeyframeStart } from '../../src/media/vp8-payload-descriptor.js';
import { rtpPayloadOf } from '../../src/rtp/header-extensions.js';
import { ROOT } from '../helpers/cli.js';
import { startTestServer } from '../helpers/server.js';
import { eventually, skipUnlessCi, withTimeout } from '../helpers/timeout.js';
import { collectRtp, connectResource } from '../helpers/whip.js';

const PROBE = "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstWebRTC', '1.0'); from gi.repository import Gst; Gst.init(None); assert Gst.ElementFactory.find('webrtcbin') and Gst.ElementFactory.find('vp8enc')";
const missing = spawnSync('/usr/bin/python3', ['-c', PROBE]).status === 0 ? undefined : 'GStreamer webrtcbin (python3-gst-1.0) missing: bash interop/setup/gstreamer.sh';

test('GStreamer webrtcbin publishes by WHIP; a viewer of ours plays its VP8 and Opus by WHEP; its DELETE ends both', { skip: skipUnlessCi(missing), timeout: 60_000 }, async (t) => {
  const server = await startTestServer(t, 'libdatachannel');
  const client = spawn('/usr/bin/python3', ['interop/peers/gstreamer/whip_client.py', `${server.url}/whip`, '--seconds', '4'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => client.kill('SIGKILL'));
  let stderr = '';
  client.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => client.on('exit', (code) => resolve(code)));
  const lines: string[] = [];
  const located = new Promise<string>((resolve) =>
    createInterface({ input: client.stdout }).on('line', (line) => {
      lines.push(line);
      if (line.startsWith('location ')) resolve(line.slice('location '.length));
    }),
  );
  const location = await withTimeout(Promise.race([located, exited.then(() => Promise.reject(new Error(`the client exited: ${stderr}`)))]), 20_000, 'the 201');
  const id = location.split('/').pop()!;
  assert.deepEqual(server.sessions.roleOf(id), { kind: 'publisher' });

  const viewer = await connectResource(t, await loadClientEngine('libdatachannel'), `${server.url}/whep/${id}`, 'recvonly');
  const received = collectRtp(viewer.peer);
  await eventually(() => (received.get('video')?.length ?? 0) > 30 && (received.get('audio')?.length ?? 0) > 30, 15_000, 'webrtcbin\'s media at the viewer');
  assert.ok(received.get('video')!.some((packet) => isVp8KeyframeStart(rtpPayloadOf(packet))), 'a VP8 keyframe reached the viewer');

  assert.equal(await withTimeout(exited, 20_000, 'the client ends'), 0, stderr);
  assert.ok(lines.includes('status 201') && lines.includes('deleted 200'), lines.join('\n'));
  await eventually(() => server.sessions.size === 0, 5_000, 'publisher and viewer released by the client\'s DELETE');
});
