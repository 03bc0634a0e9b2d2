/**
 * The native engine's data channels (src/engines/native/data-channels.ts): werift's SCTP and
 * DCEP over a stand-in for werift's DTLS transport. Here over an in-memory link to a werift SCTP
 * client (the same stand-in, other role), to see every packet: what werift touches of the
 * stand-in (the pinned version must not reach further), no zero checksum on the wire, and no
 * throw or unhandled rejection whatever a client sends. Against real clients over DTLS:
 * native-session.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { crc32c, Event, RTCDataChannel, RTCDataChannelParameters, RTCSctpTransport, type RTCDtlsTransport } from 'werift';
import { MAX_BUNDLE_BYTES, SctpBundler } from '../../src/engines/native/sctp-bundle.js';
import { DataChannelEcho, dtlsStandIn } from '../../src/engines/native/data-channels.js';
import { ROOT } from '../helpers/cli.js';
import { eventually } from '../helpers/timeout.js';

const WERIFT_VERSION = '0.24.4';

test('werift is pinned to the version the stand-in was written against', () => {
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { dependencies: Record<string, string> };
  assert.equal(pkg.dependencies.werift, WERIFT_VERSION, 'an exact version in package.json');
  const installed = JSON.parse(readFileSync(`${ROOT}node_modules/werift/package.json`, 'utf8')) as { version: string };
  assert.equal(installed.version, WERIFT_VERSION);
});

/** What the plane says of each record it decrypts (`sctpChecksumValid`): an SCTP packet with its CRC32c. */
function checksumValid(packet: Buffer): boolean {
  if (packet.length < 12) return false;
  const zeroed = Buffer.from(packet);
  zeroed.writeUInt32LE(0, 8);
  return crc32c(zeroed) >>> 0 === packet.readUInt32LE(8);
}

/**
 * Our echo and a werift SCTP client joined in memory; every packet each way is kept. Each packet
 * comes with the plane's checksum verdict, as in the engine, unless `planeChecks` is false.
 */
function link({ planeChecks = true } = {}) {
  const toClient: Buffer[] = [];
  const toServer: Buffer[] = [];
  let client: RTCSctpTransport | undefined;
  const echo = new DataChannelEcho({
    send: (packets) => {
      for (const packet of packets) {
        toClient.push(packet);
        setImmediate(() => void (client as unknown as { sctp: { handleData(p: Buffer): Promise<void> } }).sctp.handleData(packet).catch(() => undefined));
      }
      return true;
    },
    localPort: 5000,
    remotePort: 5000,
    maxMessageSize: 65536,
  });
  client = new RTCSctpTransport(5000, 65536);
  // The fuzzing below makes our echo ACK channels the client never opened; werift's own DCEP
  // handler throws on those without catching (our echo wraps its own): the client's, not ours.
  const internals = client as unknown as { datachannelReceive(...args: unknown[]): Promise<void> };
  const receive = internals.datachannelReceive;
  internals.datachannelReceive = (...args) => receive(...args).catch(() => undefined);
  // As the plane hands them over: the packets of one wake-up in one go, no turn between them.
  let batch: Buffer[] = [];
  const deliver = (packet: Buffer) => {
    toServer.push(packet);
    batch.push(packet);
    if (batch.length > 1) return;
    setImmediate(() => {
      const packets = batch;
      batch = [];
      for (const p of packets) echo.receive(p, planeChecks && checksumValid(p));
    });
  };
  const standIn = dtlsStandIn(
    (packet) => {
      deliver(packet);
      return true;
    },
    new Event(),
    'controlling',
  );
  client.setDtlsTransport(standIn as unknown as RTCDtlsTransport);
  client.setRemotePort(5000);
  return { echo, client, toClient, toServer };
}

async function openChannel(client: RTCSctpTransport, label: string) {
  const channel = new RTCDataChannel(client, new RTCDataChannelParameters({ label }));
  const received: Array<string | Buffer> = [];
  channel.onMessage.subscribe((m) => received.push(m));
  await eventually(() => channel.readyState === 'open', 5000, `${label} open`);
  return { channel, received };
}

test('what werift reaches of the stand-in is what it provides', async () => {
  const used = new Set<string>();
  const watch = <T extends object>(target: T, path: string): T =>
    new Proxy(target, {
      get(object, property, receiver) {
        if (typeof property === 'string') used.add(`${path}${property}`);
        const value = Reflect.get(object, property, receiver) as unknown;
        return property === 'iceTransport' && value && typeof value === 'object' ? watch(value, 'iceTransport.') : value;
      },
      set(object, property, value) {
        if (typeof property === 'string') used.add(`${path}${property}=`);
        return Reflect.set(object, property, value);
      },
    });
  const server = new RTCSctpTransport(5000, 65536);
  const peer = new RTCSctpTransport(5000, 65536);
  const serverSide = dtlsStandIn((p) => (setImmediate(() => void (peer as unknown as { sctp: { handleData(p: Buffer): Promise<void> } }).sctp.handleData(p)), true), new Event(), 'controlled');
  server.setDtlsTransport(watch(serverSide, '') as unknown as RTCDtlsTransport);
  peer.setDtlsTransport(dtlsStandIn((p) => (setImmediate(() => void (server as unknown as { sctp: { handleData(p: Buffer): Promise<void> } }).sctp.handleData(p)), true), new Event(), 'controlling') as unknown as RTCDtlsTransport);
  server.setRemotePort(5000);
  peer.setRemotePort(5000);
  const opened = new Promise<void>((resolve) => server.onDataChannel.subscribe(() => resolve()));
  await Promise.all([server.start(5000), peer.start(5000)]);
  const channel = new RTCDataChannel(peer, new RTCDataChannelParameters({ label: 'watched' }));
  await opened;
  channel.send('x');
  await eventually(() => channel.readyState === 'open', 5000, 'open');
  await Promise.all([server.stop(), peer.stop()]);
  const provided = new Set(['id', 'iceTransport', 'iceTransport.role', 'onStateChange', 'dataReceiver', 'dataReceiver=', 'sendData']);
  const beyond = [...used].filter((name) => !provided.has(name));
  assert.deepEqual(beyond, [], 'werift reaches past the stand-in: check the new version before unpinning');
  assert.ok(used.has('sendData') && used.has('iceTransport.role'), `werift used ${[...used].join(', ')}`);
});

test('echoes over the link: text and binary, on every channel; no zero checksum, every packet with its CRC32c', async () => {
  const { echo, client, toClient } = link();
  try {
    echo.start();
    await client.start(5000);
    const first = await openChannel(client, 'first');
    const second = await openChannel(client, 'second');
    first.channel.send('hello');
    first.channel.send(Buffer.from([9, 8, 7]));
    second.channel.send('on two');
    await eventually(() => first.received.length === 2 && second.received.length === 1, 5000, 'echoes');
    assert.deepEqual(first.received, ['hello', Buffer.from([9, 8, 7])]);
    assert.deepEqual(second.received, ['on two']);
    assert.equal(echo.channels, 2);
    assert.deepEqual(echo.counters, { messages: 3, messageBytes: 14 });

    // INIT-ACK (chunk type 2): its parameters after the fixed 16 bytes; 0x8001 is Zero Checksum Acceptable (RFC 9653).
    const initAck = toClient.find((p) => p[12] === 2)!;
    assert.ok(initAck, 'our INIT-ACK went out');
    const parameters: number[] = [];
    for (let at = 12 + 4 + 16; at + 4 <= 12 + initAck.readUInt16BE(14); ) {
      parameters.push(initAck.readUInt16BE(at));
      at += Math.ceil(initAck.readUInt16BE(at + 2) / 4) * 4;
    }
    assert.ok(!parameters.includes(0x8001), `INIT-ACK parameters ${parameters.map((p) => p.toString(16)).join(' ')}`);
    assert.equal(echo.zeroChecksum, false);
    assert.ok(toClient.every((p) => p.readUInt32LE(8) !== 0), 'a checksum in every packet');
  } finally {
    echo.close();
    echo.close();
    await client.stop();
  }
});

/** The chunk types of an SCTP packet, in order. */
function chunkTypes(packet: Buffer): number[] {
  return chunkOffsets(packet).map((at) => packet[at]!);
}

/** Where each chunk of an SCTP packet starts. */
function chunkOffsets(packet: Buffer): number[] {
  const offsets: number[] = [];
  for (let at = 12; at + 4 <= packet.length; at += Math.ceil(packet.readUInt16BE(at + 2) / 4) * 4) {
    offsets.push(at);
    if (packet.readUInt16BE(at + 2) < 4) break;
  }
  return offsets;
}

test('the SACK rides in front of the echoed DATA, small echoes share packets, each packet with its CRC32c', async () => {
  const { echo, client, toClient } = link();
  try {
    echo.start();
    await client.start(5000);
    const { channel, received } = await openChannel(client, 'bundled');
    await new Promise((r) => setTimeout(r, 50));
    toClient.length = 0;
    const messages = Array.from({ length: 8 }, (_, i) => `message ${i} `.padEnd(100, '.'));
    for (const message of messages) channel.send(message);
    await eventually(() => received.length === 8, 5000, 'eight echoes');
    assert.deepEqual(received, messages);
    const types = toClient.map(chunkTypes);
    const withData = types.filter((t) => t.includes(0));
    assert.equal(types.flat().filter((t) => t === 0).length, 8, 'eight DATA chunks back');
    assert.ok(withData.length < 8, `echoes share packets: ${JSON.stringify(types)}`);
    assert.ok(!types.some((t) => t.length === 1 && t[0] === 3), `no SACK alone: ${JSON.stringify(types)}`);
    for (const t of types) assert.ok(t.indexOf(3) <= 0 && t.filter((c) => c === 3).length <= 1, `one SACK, first: ${JSON.stringify(t)}`);
    for (const packet of toClient) {
      const copy = Buffer.from(packet);
      copy.writeUInt32LE(0, 8);
      assert.equal(crc32c(copy) >>> 0, packet.readUInt32LE(8), 'the bundle has its own checksum');
      assert.ok(packet.length <= MAX_BUNDLE_BYTES);
    }
  } finally {
    echo.close();
    await client.stop();
  }
});

test('DATA and SACK packets the plane checked skip werift\'s parser; unchecked ones still go through it, with the same echoes', async () => {
  for (const planeChecks of [true, false]) {
    const { echo, client } = link({ planeChecks });
    // Our association is private; werift's SCTP class is the client's too, so its prototype counts both.
    const clientAssociation = (client as unknown as { sctp: object }).sctp;
    const prototype = Object.getPrototypeOf(clientAssociation) as { handleData(this: object, packet: Buffer): Promise<void> };
    const handleData = prototype.handleData;
    let parsedByWerift = 0;
    prototype.handleData = function (packet) {
      if (this !== clientAssociation) parsedByWerift++;
      return handleData.call(this, packet);
    };
    try {
      echo.start();
      await client.start(5000);
      const { channel, received } = await openChannel(client, `checked by the plane: ${planeChecks}`);
      const before = parsedByWerift;
      // A message of three packets too: reassembly from chunks parsed here.
      const messages = ['one', Buffer.alloc(3_000, 1), 'three'];
      for (const message of messages) channel.send(message);
      await eventually(() => received.length === messages.length, 5000, 'echoes');
      assert.deepEqual(received, messages);
      const parsed = parsedByWerift - before;
      if (planeChecks) assert.equal(parsed, 0, 'no DATA or SACK packet through werift\'s parser');
      else assert.ok(parsed >= 3, `${parsed} packets through werift's parser`);
    } finally {
      prototype.handleData = handleData;
      echo.close();
      await client.stop();
    }
  }
});

test('the bundler writes werift\'s DATA chunks from their fields byte for byte as werift\'s own bytes, padding included', async () => {
  const { echo, client } = link();
  // The client's own DATA chunks (werift's class is not exported), as its association sends them.
  const association = (client as unknown as { sctp: { sendChunk(chunk: { type: number; bytes: Buffer }): Promise<void> } }).sctp;
  const sendChunk = association.sendChunk.bind(association);
  const sent: Array<{ type: number; bytes: Buffer }> = [];
  association.sendChunk = (chunk) => {
    if (chunk.type === 0) sent.push(chunk);
    return sendChunk(chunk);
  };
  try {
    echo.start();
    await client.start(5000);
    const { channel, received } = await openChannel(client, 'fields');
    const messages = [...Array.from({ length: 8 }, (_, n) => Buffer.alloc(n + 1, n + 1)), Buffer.alloc(1_199, 3), Buffer.alloc(2_403, 4)];
    sent.length = 0;
    for (const message of messages) channel.send(message);
    await eventually(() => received.length === messages.length, 5000, 'echoes');
    const packets: Buffer[] = [];
    const bundler = new SctpBundler((p) => (packets.push(...p), true), () => ({ local: 5000, remote: 5000 }));
    for (const chunk of sent) bundler.add(chunk, 0x01020304);
    bundler.flush();
    const written = Buffer.concat(packets.map((p) => p.subarray(12)));
    assert.ok(sent.length >= messages.length + 2, `${sent.length} DATA chunks`);
    assert.deepEqual(written, Buffer.concat(sent.map((c) => c.bytes)));
  } finally {
    echo.close();
    await client.stop();
  }
});

test('whatever a client sends: no throw and no unhandled rejection; broken packets leave the association echoing', async () => {
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  process.on('unhandledRejection', onRejection);
  const { echo, client, toServer } = link();
  const params = { seed: Number(process.env.FUZZ_SEED ?? 20_261_201), numRuns: 400 * Number(process.env.FUZZ_RUNS ?? 1) };
  try {
    echo.start();
    await client.start(5000);
    const { channel, received } = await openChannel(client, 'fuzzed');
    const valid = [...toServer];
    // Random bytes, flipped bytes, cut packets: the checksum or the tag gives them away.
    const broken = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
      fc.tuple(fc.constantFrom(...valid), fc.nat(), fc.integer({ min: 1, max: 255 })).map(([packet, at, xor]) => {
        const copy = Buffer.from(packet);
        copy[at % copy.length]! ^= xor;
        return copy;
      }),
      fc.tuple(fc.constantFrom(...valid), fc.nat()).map(([packet, at]) => packet.subarray(0, at % packet.length)),
    );
    fc.assert(fc.property(broken, (packet) => echo.receive(packet)), params);
    await new Promise((r) => setTimeout(r, 200));
    channel.send('still here');
    await eventually(() => received.includes('still here'), 5000, 'an echo after the broken packets');

    // Changed past the common header with the checksum made right again: into chunk parsing and
    // DCEP. Such a packet may rightly end the association (an ABORT with the right tag); it may not
    // throw or leave a rejection behind.
    const reChecksummed = fc.tuple(fc.constantFrom(...valid), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 })).map(([packet, edits]) => {
      const copy = Buffer.from(packet);
      for (const [at, value] of edits) if (copy.length > 12) copy[12 + (at % (copy.length - 12))] = value;
      copy.writeUInt32LE(0, 8);
      copy.writeUInt32LE(crc32c(copy), 8);
      return copy;
    });
    fc.assert(fc.property(reChecksummed, (packet) => echo.receive(packet)), params);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(rejections, []);
  } finally {
    process.off('unhandledRejection', onRejection);
    echo.close();
    await client.stop();
  }
});

test('an INIT once the association is up is dropped: werift would restart its TSN state and run out of memory', async () => {
  const { echo, client } = link();
  try {
    echo.start();
    await client.start(5000);
    const { channel, received } = await openChannel(client, 'restart');
    // Found by the fuzzing above: ports 5000, tag 0, INIT with 65535 streams, PR-SCTP and RE-CONFIG.
    const init = Buffer.from('13881388000000002156750c0100001ee718864000100000ffffffffc83fd3d9c000000080080006c0820000', 'hex');
    init.writeUInt32LE(0, 8);
    init.writeUInt32LE(crc32c(init), 8);
    const heap = process.memoryUsage().heapUsed;
    echo.receive(init);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(process.memoryUsage().heapUsed - heap < 50e6, 'no runaway allocation');
    channel.send('after the INIT');
    await eventually(() => received.includes('after the INIT'), 5000, 'an echo after the INIT');
  } finally {
    echo.close();
    await client.stop();
  }
});

/** Each SACK chunk our echo sent: its number of gap blocks (RFC 9260 §3.3.4). */
function sackGapCounts(packets: Buffer[]): number[] {
  return packets.flatMap((packet) => chunkOffsets(packet).filter((at) => packet[at] === 3).map((at) => packet.readUInt16BE(at + 12)));
}

test('while a message larger than a packet comes in, a SACK goes for every second packet, not one a turn', async () => {
  const { echo, client, toClient, toServer } = link();
  try {
    echo.start();
    await client.start(5000);
    const { channel, received } = await openChannel(client, 'large');
    await new Promise((r) => setTimeout(r, 50));
    toClient.length = 0;
    toServer.length = 0;
    const large = Buffer.alloc(60_000, 7);
    channel.send(large);
    await eventually(() => received.length === 1, 10_000, 'the large echo');
    assert.deepEqual(received[0], large);
    const dataPackets = toServer.filter((p) => p[12] === 0).length;
    const sacks = sackGapCounts(toClient).length;
    assert.ok(dataPackets >= 50, `the message came in ${dataPackets} packets`);
    assert.ok(sacks >= Math.floor(dataPackets / 2), `${sacks} SACKs for ${dataPackets} DATA packets`);
  } finally {
    echo.close();
    await client.stop();
  }
});

test('large messages sent at once, more than the congestion window holds, all come back whole: taking packets in order never waits on the client', async () => {
  const { echo, client } = link();
  try {
    echo.start();
    await client.start(5000);
    const { channel, received } = await openChannel(client, 'several');
    const messages = Array.from({ length: 6 }, (_, i) => Buffer.alloc(60_000, i));
    for (const message of messages) channel.send(message);
    // A stall would wait for retransmission timers that back off: 0.2 + 0.4 + … s, past this.
    await eventually(() => received.length === messages.length, 10_000, 'six large echoes');
    assert.deepEqual(received, messages);
  } finally {
    echo.close();
    await client.stop();
  }
});
