/**
 * SCTP zero checksum off for node-datachannel (src/engines/libdatachannel/zero-checksum.ts):
 * the search for the one value to patch, the addon installed here (the copy and its stamp:
 * libdatachannel-addon-patches.test.ts), and a pion 3.1 client's data channel with our
 * libdatachannel server (which never opened before).
 * Run: node --import tsx --test test/engines/libdatachannel-zero-checksum.test.ts
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkAddonPatches, isApplied } from '../../src/engines/libdatachannel/addon-patches.js';
import { findZeroChecksumValue } from '../../src/engines/libdatachannel/zero-checksum.js';
import { ZERO_CHECKSUM_GCC_VALUE_AT, ZERO_CHECKSUM_MUSL_VALUE_AT, zeroChecksumGcc, zeroChecksumMusl } from '../helpers/addon-images.js';
import { ROOT } from '../helpers/cli.js';
import { runCommand } from '../helpers/run-command.js';
import { startTestServer } from '../helpers/server.js';
import { skipUnlessCi } from '../helpers/timeout.js';

/** Machine code around the call, as in a real image: other bytes before and after. */
function image(...calls: Buffer[]): Buffer {
  const filler = Buffer.alloc(256, 0x90);
  return Buffer.concat([filler, ...calls.flatMap((c) => [c, filler])]);
}

test('finds the SCTP_ACCEPT_ZERO_CHECKSUM optval in gcc and clang argument orders', () => {
  assert.equal(findZeroChecksumValue(image(zeroChecksumGcc())), 256 + ZERO_CHECKSUM_GCC_VALUE_AT);
  assert.equal(findZeroChecksumValue(image(zeroChecksumMusl())), 256 + ZERO_CHECKSUM_MUSL_VALUE_AT);
  assert.equal(findZeroChecksumValue(image(zeroChecksumGcc(0))), 256 + ZERO_CHECKSUM_GCC_VALUE_AT, 'an already patched image is recognised');
});

test('finds nothing when the place is not unique or the optval is not what the call passes', () => {
  assert.equal(findZeroChecksumValue(image()), undefined);
  assert.equal(findZeroChecksumValue(image(zeroChecksumGcc(), zeroChecksumMusl())), undefined, 'two candidates: patch neither');
  const otherSlot = zeroChecksumGcc();
  otherSlot[27] = 0xd8; // lea -0x328(%rbp),%rcx: rcx points elsewhere, so the movl is not the optval
  assert.equal(findZeroChecksumValue(image(otherSlot)), undefined);
  const otherOption = zeroChecksumGcc();
  otherOption[7] = 0x34; // mov $0x34,%edx: another socket option
  assert.equal(findZeroChecksumValue(image(otherOption)), undefined);
});

const linuxX64 = process.platform === 'linux' && process.arch === 'x64';
/** The patch is for the linux-x64 addons (glibc and musl): elsewhere the engine runs the stock addon. */
const notLinuxX64 = linuxX64 ? false : 'the addon patch is for linux-x64 only';

test('node-datachannel here loads a copy of its addon with zero checksum off', { skip: notLinuxX64 }, () => {
  const state = checkAddonPatches();
  assert.ok(isApplied(state, 'sctp-zero-checksum-off'), JSON.stringify(state.patches));
  const at = findZeroChecksumValue(readFileSync(state.source!));
  assert.ok(at !== undefined);
  assert.equal(readFileSync(state.source!).readUInt32LE(at), 1, 'node-datachannel sets SCTP_EDMID_LOWER_LAYER_DTLS');
  assert.equal(readFileSync(state.binary!).readUInt32LE(at), 0, 'our copy sets SCTP_EDMID_NONE');
});

const PION_CLIENT = join(ROOT, 'interop/peers/pion/bin/pion-client');

test('a pion 3.1 client opens its data channel with our libdatachannel server', { skip: skipUnlessCi(existsSync(PION_CLIENT) ? undefined : 'pion peers not built (interop/setup/pion.sh)') }, async (t) => {
  const server = await startTestServer(t, 'libdatachannel');
  for (let run = 0; run < 3; run++) {
    const { code, stderr } = await runCommand(PION_CLIENT, ['-s', `${server.url}/offer`, '-t', '1', '--timeout', '10']);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /ok test 1/);
  }
});

/**
 * The stock addon as node-datachannel ships it (zero checksum on), in a copy of the package
 * without our build/Release, behind a bare echo server of a few lines: what the
 * sctp-zero-checksum sub-check of each client makes of a server that announces it.
 */
async function startStockServer(t: import('node:test').TestContext): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'stock-ndc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const modules = join(ROOT, 'node_modules');
  cpSync(join(modules, 'node-datachannel'), join(dir, 'node_modules', 'node-datachannel'), { recursive: true, filter: (p) => !p.includes(join('node-datachannel', 'build')) });
  cpSync(join(modules, '@node-datachannel', 'linux-x64-gnu'), join(dir, 'node_modules', '@node-datachannel', 'linux-x64-gnu'), { recursive: true });
  cpSync(join(modules, 'detect-libc'), join(dir, 'node_modules', 'detect-libc'), { recursive: true });
  writeFileSync(
    join(dir, 'server.mjs'),
    `import { createServer } from 'node:http';
import ndc from 'node-datachannel';
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const pc = new ndc.PeerConnection('stock', { iceServers: [] });
    pc.onDataChannel((dc) => dc.onMessage((m) => (typeof m === 'string' ? dc.sendMessage(m) : dc.sendMessageBinary(m))));
    pc.onGatheringStateChange((s) => {
      if (s !== 'complete') return;
      const d = pc.localDescription();
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ type: d.type, sdp: d.sdp }));
      setTimeout(() => pc.close(), 10000);
    });
    pc.setRemoteDescription(JSON.parse(body).sdp, 'offer');
  });
});
server.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port));
`,
  );
  const child = spawn(process.execPath, ['server.mjs'], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      const match = /listening (\d+)/.exec(String(d));
      if (match) resolve(match[1]!);
    });
    child.on('exit', (code) => reject(new Error(`stock server exited ${code}`)));
  });
  return `http://127.0.0.1:${port}/offer`;
}

test("the sub-checks see a stock addon's zero checksum: werift reads it in the INIT-ACK, pion names it as why its channel never opens", { skip: notLinuxX64, timeout: 60_000 }, async (t) => {
  const url = await startStockServer(t);
  const werift = await runCommand(process.execPath, [join(ROOT, 'dist/cli.js'), 'client', '-s', url, '-t', '1', '--engine', 'werift', '--json', '--timeout', '8']);
  assert.equal(werift.code, 0, werift.stderr);
  const checks = (JSON.parse(werift.stdout) as { checks: Array<{ name: string; status: string; detail: string }> }).checks;
  const zero = checks.find((c) => c.name === 'sctp-zero-checksum');
  assert.equal(zero?.status, 'pass');
  assert.match(zero!.detail, /announced Zero Checksum Acceptable \(0x8001\); the data channel opened/);
  if (!existsSync(PION_CLIENT)) return t.diagnostic('pion peers not built: the pion half is skipped');
  const pion = await runCommand(PION_CLIENT, ['-s', url, '-t', '1', '--timeout', '4']);
  assert.equal(pion.code, 1, 'the data channel never opens (pion/webrtc#2618)');
  assert.match(pion.stderr, /^check sctp-zero-checksum fail the remote SCTP announced Zero Checksum Acceptable \(0x8001\), which pion\/sctp 1\.8\.6 cannot parse/m);
});
