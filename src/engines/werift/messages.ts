/** Sending data channel messages through werift, empty ones included. */
import type { RTCDataChannel } from 'werift';

/** RFC 8831 §6.6: an empty message travels as one byte with its own PPID. */
const PPID_STRING_EMPTY = 56;
const PPID_BINARY_EMPTY = 57;

interface SctpTransportInternals {
  dataChannelQueue: Array<[RTCDataChannel, number, Buffer]>;
  dataChannelFlush(): Promise<void>;
}

/**
 * werift 0.24 sends an empty message as zero bytes of user data: no DATA chunk goes out, yet the
 * stream's sequence number moves on (lib/sctp/src/sctp.js: ceil(0 / max) = 0 fragments), so the
 * peer waits for that number forever and every later message on the channel is stuck. Empty
 * messages go out as RFC 8831 says instead, through werift's own send queue (it reads PPID 56
 * and 57 correctly on the way in).
 */
export function sendMessage(channel: RTCDataChannel, data: string | Buffer): void {
  if (data.length > 0) {
    channel.send(data);
    return;
  }
  const sctp = (channel as unknown as { sctp: SctpTransportInternals }).sctp;
  sctp.dataChannelQueue.push([channel, typeof data === 'string' ? PPID_STRING_EMPTY : PPID_BINARY_EMPTY, Buffer.from([0])]);
  void sctp.dataChannelFlush().catch(() => undefined);
}
