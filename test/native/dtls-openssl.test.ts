/**
 * The native plane's DTLS against OpenSSL's own command-line peers: `openssl s_client
 * -dtls1_2 -use_srtp` with the plane as server and `openssl s_server` with the plane as
 * client. The SRTP profile each side names, application data both ways, close_notify both
 * ways, a certificate that fails the fingerprint, and an SRTP_AES128_CM_SHA1_32 echo keyed by
 * the material s_client exports (werift does not negotiate that profile).
 * Run: node --import tsx --test test/native/dtls-openssl.test.ts
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { skipUnlessCi } from '../helpers/timeout.js';
import { AesCmSrtp } from './aes-cm-srtp.js';
import { isConnected, isFailed, PlaneHarness, skipWithoutAddon } from './plane-harness.js';
import { rtpPacket } from './werift-peer.js';

const opensslMissing = spawnSync('openssl', ['version']).status === 0 ? undefined : 'the openssl command is not installed';
const skip = skipUnlessCi(opensslMissing) || skipWithoutAddon();

interface Identity {
  cert: string;
  key: string;
  fingerprint: string;
}

function identity(t: TestContext): Identity {
  const dir = mkdtempSync(join(tmpdir(), 'native-dtls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=peer', '-keyout', key, '-out', cert, '-days', '1']);
  assert.equal(made.status, 0, made.stderr?.toString());
  const print = spawnSync('openssl', ['x509', '-in', cert, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' });
  return { cert, key, fingerprint: print.stdout.trim().split('=')[1]! };
}

/** A free loopback UDP port (bound and released: the peer binds it right after). */
async function freePort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address() as AddressInfo;
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

interface Peer {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  until: (pattern: RegExp, ms: number) => Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

function openssl(t: TestContext, args: string[]): Peer {
  const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  const waiters: Array<() => void> = [];
  const collect = (data: Buffer) => {
    output += data.toString();
    for (const wake of waiters.splice(0)) wake();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.after(() => child.kill('SIGKILL'));
  return {
    child,
    output: () => output,
    exited,
    async until(pattern, ms) {
      const deadline = Date.now() + ms;
      for (;;) {
        const match = output.match(pattern);
        if (match) return match;
        if (Date.now() > deadline) throw new Error(`openssl did not print ${pattern} in ${ms} ms:\n${output}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 100);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
  };
}

test('s_client: SRTP_AES128_CM_SHA1_32 negotiated, application data both ways, its close_notify reported', { skip }, async (t) => {
  const harness = PlaneHarness.open(t);
  const { socket, local } = harness.socket();
  const peer = identity(t);
  const session = harness.session({
    socket,
    dtlsRole: 'server',
    remoteFingerprint: { algorithm: 'sha-256', value: peer.fingerprint },
    srtpProfiles: ['SRTP_AEAD_AES_128_GCM', 'SRTP_AES128_CM_SHA1_80', 'SRTP_AES128_CM_SHA1_32'],
    sections: [{ mid: '0', echoSsrc: 0xe32, payloadTypes: [96], offeredSsrcs: [], midExtensionId: 0 }],
  });
  const port = await freePort();
  harness.plane.allowRemote(session, { address: '127.0.0.1', port });
  const client = openssl(t, [
    's_client', '-dtls1_2', '-connect', `127.0.0.1:${local.port}`, '-bind', `127.0.0.1:${port}`,
    '-use_srtp', 'SRTP_AES128_CM_SHA1_32', '-cert', peer.cert, '-key', peer.key,
    '-keymatexport', 'EXTRACTOR-dtls_srtp', '-keymatexportlen', '60',
  ]);
  const connected = await harness.event(isConnected(session), 10_000, 'dtls-connected');
  assert.deepEqual(connected, { type: 'dtls-connected', session, role: 'server', srtpProfile: 'SRTP_AES128_CM_SHA1_32' });
  await client.until(/SRTP Extension negotiated, profile=SRTP_AES128_CM_SHA1_32/, 5_000);
  const material = Buffer.from((await client.until(/Keying material: ([0-9A-F]{120})/, 5_000))[1]!, 'hex');

  client.child.stdin.write('to the plane\n');
  const up = await harness.event((e) => e.type === 'app-data' && e.session === session, 5_000, 'app-data');
  assert.equal(up.type === 'app-data' && up.data.toString(), 'to the plane\n');
  assert.equal(harness.plane.sendApplicationData(session, Buffer.from('to s_client\n')), true);
  await client.until(/to s_client/, 5_000);

  // SRTP _32 keyed from s_client's export, sent from a second address ICE validated and selected.
  const media = dgram.createSocket('udp4');
  t.after(() => media.close());
  await new Promise<void>((resolve) => media.bind(0, '127.0.0.1', resolve));
  const mediaAddress = { address: '127.0.0.1', port: (media.address() as AddressInfo).port };
  harness.plane.allowRemote(session, mediaAddress);
  harness.plane.selectRemote(session, mediaAddress);
  const clientSrtp = new AesCmSrtp(material.subarray(0, 16), material.subarray(32, 46), 4);
  const serverSrtp = new AesCmSrtp(material.subarray(16, 32), material.subarray(46, 60), 4);
  const echoes: Buffer[] = [];
  media.on('message', (data) => echoes.push(data));
  const sent: Buffer[] = [];
  for (let i = 0; i < 20; i++) {
    const plain = rtpPacket({ ssrc: 0x32323232, seq: 7000 + i, payload: randomBytes(100 + i) });
    sent.push(plain);
    media.send(clientSrtp.protect(plain), local.port, '127.0.0.1');
  }
  const deadline = Date.now() + 5_000;
  while (echoes.length < sent.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(echoes.length, sent.length);
  echoes.forEach((echo, i) => {
    assert.equal(echo.length, sent[i]!.length + 4, 'a 32-bit tag');
    const expected = Buffer.from(sent[i]!);
    expected.writeUInt32BE(0xe32, 8);
    assert.deepEqual(serverSrtp.unprotect(echo), expected);
  });

  client.child.stdin.end(); // s_client sends close_notify at the end of its input
  await harness.event((e) => e.type === 'dtls-closed' && e.session === session, 5_000, 'dtls-closed');
  assert.equal(harness.plane.sendApplicationData(session, Buffer.from('late')), false);
});

test('s_server: the plane as DTLS client, SRTP_AEAD_AES_128_GCM, and closeSession sends close_notify', { skip }, async (t) => {
  const harness = PlaneHarness.open(t);
  const { socket } = harness.socket();
  const peer = identity(t);
  const port = await freePort();
  const server = openssl(t, [
    's_server', '-dtls1_2', '-accept', `127.0.0.1:${port}`, '-use_srtp', 'SRTP_AEAD_AES_128_GCM',
    '-cert', peer.cert, '-key', peer.key, '-verify', '1', '-naccept', '1',
  ]);
  await server.until(/ACCEPT/, 5_000);
  const session = harness.session({
    socket,
    dtlsRole: 'client',
    remoteFingerprint: { algorithm: 'SHA-256', value: peer.fingerprint.toLowerCase() },
    srtpProfiles: ['SRTP_AEAD_AES_128_GCM', 'SRTP_AES128_CM_SHA1_80'],
    sections: [],
  });
  harness.plane.selectRemote(session, { address: '127.0.0.1', port });
  const connected = await harness.event(isConnected(session), 10_000, 'dtls-connected');
  assert.deepEqual(connected, { type: 'dtls-connected', session, role: 'client', srtpProfile: 'SRTP_AEAD_AES_128_GCM' });
  await server.until(/SRTP Extension negotiated, profile=SRTP_AEAD_AES_128_GCM/, 5_000);
  assert.match(server.output(), /subject=CN = webrtc-echo/, 's_server got the plane certificate');
  harness.plane.closeSession(session);
  await server.until(/DONE/, 5_000); // s_server prints DONE on the peer's close_notify
});

test('s_client with a certificate other than the fingerprint is refused with an alert', { skip }, async (t) => {
  const harness = PlaneHarness.open(t);
  const { socket, local } = harness.socket();
  const peer = identity(t);
  const other = identity(t);
  const session = harness.session({
    socket,
    dtlsRole: 'server',
    remoteFingerprint: { algorithm: 'sha-256', value: other.fingerprint },
    srtpProfiles: ['SRTP_AES128_CM_SHA1_80'],
    sections: [],
  });
  const port = await freePort();
  harness.plane.allowRemote(session, { address: '127.0.0.1', port });
  const client = openssl(t, [
    's_client', '-dtls1_2', '-connect', `127.0.0.1:${local.port}`, '-bind', `127.0.0.1:${port}`,
    '-use_srtp', 'SRTP_AES128_CM_SHA1_80', '-cert', peer.cert, '-key', peer.key,
  ]);
  const failed = await harness.event(isFailed(session), 10_000, 'dtls-failed');
  assert.match(failed.reason, /does not match the fingerprint/);
  await client.until(/alert bad certificate/, 5_000);
  assert.notEqual(await client.exited, 0);
});
