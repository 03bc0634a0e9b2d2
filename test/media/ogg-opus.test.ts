import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseOggOpus } from '../../src/media/ogg-opus.js';
import { opusPacketSamples, parseOpusToc } from '../../src/media/opus-toc.js';
import { testdataPath } from '../../src/media/package-root.js';
import { lacing, oggPage, opusHead, opusPacket, opusTags } from './ogg-writer.js';

test('the shipped Ogg clip holds about 4 s of 20 ms mono Opus packets with valid TOC bytes', () => {
  const { head, packets } = parseOggOpus(readFileSync(testdataPath('audio.ogg')));
  assert.equal(head.channels, 1);
  assert.equal(head.inputSampleRate, 48000);
  // 200 packets of audio, plus one for the encoder's pre-skip.
  assert.ok(packets.length >= 200 && packets.length <= 202, `packet count ${packets.length}`);
  for (const packet of packets) {
    const toc = parseOpusToc(packet);
    assert.equal(toc.frameSamples * toc.frameCount, 960, 'every packet is 20 ms');
    assert.equal(toc.stereo, false);
    assert.ok(packet.subarray(0, 8).toString('latin1') !== 'OpusTags');
  }
});

test('parseOggOpus joins packets split across pages and packets whose length is a multiple of 255', () => {
  const a = opusPacket(100, 0xa1);
  const b = opusPacket(510, 0xb2); // exactly 2 × 255: lacing 255, 255, 0
  const c = opusPacket(700, 0xc3); // spans pages 3 and 4
  const d = opusPacket(1, 0xd4);
  const tags = opusTags(600); // the OpusTags header itself spans two pages
  const tagsLacing = lacing(tags.length);
  const cLacing = lacing(c.length); // 255, 255, 190
  const file = Buffer.concat([
    oggPage({ first: true, segments: lacing(opusHead().length), body: opusHead() }, 0),
    oggPage({ segments: tagsLacing.slice(0, 1), body: tags.subarray(0, 255) }, 1),
    oggPage({ continued: true, segments: tagsLacing.slice(1), body: tags.subarray(255) }, 2),
    oggPage({ segments: [...lacing(a.length), ...lacing(b.length), ...cLacing.slice(0, 2)], body: Buffer.concat([a, b, c.subarray(0, 510)]) }, 3),
    oggPage({ continued: true, segments: [...cLacing.slice(2), ...lacing(d.length)], body: Buffer.concat([c.subarray(510), d]) }, 4),
  ]);
  const { head, packets } = parseOggOpus(file);
  assert.equal(head.preSkip, 312);
  assert.deepEqual(packets, [a, b, c, d]);
});

test('parseOggOpus skips other logical streams and rejects a corrupted page', () => {
  const p = opusPacket(40, 0x55);
  const pages = [
    oggPage({ first: true, serial: 7, segments: [3], body: Buffer.from('xyz') }, 0),
    oggPage({ first: true, segments: lacing(19), body: opusHead() }, 0),
    oggPage({ segments: lacing(opusTags().length), body: opusTags() }, 1),
    oggPage({ serial: 7, segments: [2], body: Buffer.from('zz') }, 1),
    oggPage({ segments: lacing(p.length), body: p }, 2),
  ];
  assert.deepEqual(parseOggOpus(Buffer.concat(pages)).packets, [p]);
  const corrupted = Buffer.concat(pages);
  corrupted[corrupted.length - 1]! ^= 0xff;
  assert.throws(() => parseOggOpus(corrupted), /checksum/);
});

test('opusPacketSamples reads frame size and count from the TOC (RFC 6716 §3.1)', () => {
  assert.equal(opusPacketSamples(Uint8Array.of((31 << 3) | 0)), 960); // CELT FB 20 ms, 1 frame
  assert.equal(opusPacketSamples(Uint8Array.of((1 << 3) | 1)), 1920); // SILK NB 20 ms, 2 frames
  assert.equal(opusPacketSamples(Uint8Array.of((16 << 3) | 3, 4)), 480); // CELT NB 2.5 ms × 4
  assert.equal(opusPacketSamples(Uint8Array.of((3 << 3) | 3, 2)), 5760); // SILK 60 ms × 2 = 120 ms
  assert.throws(() => opusPacketSamples(Uint8Array.of((3 << 3) | 3, 3)), /120 ms/);
  assert.throws(() => opusPacketSamples(new Uint8Array(0)), /empty/);
});
