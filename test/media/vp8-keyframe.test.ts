/** Telling a VP8 keyframe from the start of its RTP payload (RFC 7741 §4.3), on libwebrtc's packets and ours. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadClip } from '../../src/media/clips.js';
import { Vp8Packetizer } from '../../src/media/vp8-packetizer.js';
import { isVp8KeyframeStart } from '../../src/media/vp8-payload-descriptor.js';
import { rtpPayloadOf } from '../../src/rtp/header-extensions.js';

/** First 40 bytes of a keyframe and of a delta frame that libwebrtc's echo peer (wrtc, re-encoding) sent our client. */
const LIBWEBRTC_KEY = Buffer.from('90606a4a16719d0c1e5432cfbede0001103000009080aed3d04f009d012a4001f0003947000f1c22', 'hex');
const LIBWEBRTC_DELTA = Buffer.from('90e06a411671333a1e5432cfbede0001103000009080aecaf11300e4e0afb926d612c06b15917400', 'hex');

test("recognises libwebrtc's keyframe and delta frame", () => {
  assert.equal(isVp8KeyframeStart(rtpPayloadOf(LIBWEBRTC_KEY)), true);
  assert.equal(isVp8KeyframeStart(rtpPayloadOf(LIBWEBRTC_DELTA)), false);
});

test("recognises the clip's keyframes on their first packet only, as our packetizer writes them", async () => {
  const clip = await loadClip('video');
  const packetizer = new Vp8Packetizer();
  for (const frame of clip.frames.slice(0, 31)) {
    const payloads = packetizer.packetize(frame.data);
    assert.equal(isVp8KeyframeStart(payloads[0]!.payload), frame.keyframe);
    for (const later of payloads.slice(1)) assert.equal(isVp8KeyframeStart(later.payload), false, 'not the start of the frame');
  }
  assert.equal(isVp8KeyframeStart(Buffer.alloc(0)), false);
  assert.equal(isVp8KeyframeStart(Buffer.from([0x90])), false, 'truncated descriptor');
});
