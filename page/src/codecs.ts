/**
 * Video codec choice: offer only what this browser can receive, and when the user picks one,
 * offer that codec alone (with its RTX/RED/FEC helpers) so the server cannot pick another.
 */

export const VIDEO_CODECS = ['VP8', 'VP9', 'H264', 'AV1'] as const;
export type VideoCodec = (typeof VIDEO_CODECS)[number];

/** Helper "codecs" that are not a picture format and must stay next to the chosen one. */
const HELPERS = new Set(['video/rtx', 'video/red', 'video/ulpfec', 'video/flexfec-03']);

/** The codecs of VIDEO_CODECS that RTCRtpReceiver.getCapabilities('video') lists, in that order. */
export function availableVideoCodecs(): VideoCodec[] {
  const capabilities = RTCRtpReceiver.getCapabilities?.('video');
  if (!capabilities) return [];
  const listed = new Set(capabilities.codecs.map((c) => c.mimeType.toLowerCase()));
  return VIDEO_CODECS.filter((codec) => listed.has(`video/${codec.toLowerCase()}`));
}

/** Applies the choice through setCodecPreferences (RFC 8829 §4.2.6); no-op for "auto". */
export function preferVideoCodec(transceiver: RTCRtpTransceiver, codec: VideoCodec | null): void {
  if (codec === null || typeof transceiver.setCodecPreferences !== 'function') return;
  const capabilities = RTCRtpReceiver.getCapabilities('video');
  if (!capabilities) return;
  const wanted = `video/${codec.toLowerCase()}`;
  const chosen = capabilities.codecs.filter((c) => c.mimeType.toLowerCase() === wanted);
  const helpers = capabilities.codecs.filter((c) => HELPERS.has(c.mimeType.toLowerCase()));
  if (chosen.length === 0) throw new Error(`this browser cannot receive ${codec}`);
  transceiver.setCodecPreferences([...chosen, ...helpers]);
}

export function isVideoCodec(value: string): value is VideoCodec {
  return (VIDEO_CODECS as readonly string[]).includes(value);
}
