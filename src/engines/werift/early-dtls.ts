/**
 * DTLS records that reach a werift peer before its DTLS transport has started, kept and handed
 * to it when it starts. werift 0.24 connects its DTLS socket to the ICE connection only in
 * RTCDtlsTransport.start() (lib/webrtc/src/transport/dtls.js: `createIceTransport` subscribes to
 * `connection.onData` then), which runs once its own ICE connect() has returned (a nominated
 * pair). A server whose ICE connects first and that is the DTLS client sends its ClientHello
 * before that: werift dropped it, and the handshake waited for the server's resend 1 s later.
 * That was every data channel session of our werift client with our libdatachannel server (it
 * answers `active` for werift's offers: answer-policy.ts) and with pion's server, on loopback and
 * on server-outbound (docs/triggered-check.md). Browsers and libwebrtc keep such a hello too.
 *
 * Only records (RFC 7983: first byte 20-63) that come before the DTLS socket exists are kept,
 * at most a handful (one flight), and each is handed over once.
 */
import type { RTCDtlsTransport } from 'werift';

/** One flight of the server's first handshake messages, and then some. */
const MAX_EARLY_RECORDS = 8;

interface DtlsSocketInternals {
  transport?: { socket?: { onData?: (data: Buffer) => void } };
}

function isDtls(data: Buffer): boolean {
  return data.length > 0 && data[0]! >= 20 && data[0]! <= 63;
}

/**
 * Keeps `transport`'s early DTLS records until it starts, then hands them over and tells
 * `handed` how many (only when there were some). Returns the unsubscriber.
 */
export function keepEarlyDtls(transport: RTCDtlsTransport, handed: (records: number) => void): () => void {
  const early: Buffer[] = [];
  const received = transport.iceTransport.connection.onData.subscribe((data: Buffer) => {
    if (!transport.dtls && isDtls(data) && early.length < MAX_EARLY_RECORDS) early.push(Buffer.from(data));
  });
  const started = transport.onStateChange.subscribe((state) => {
    if (state !== 'connecting') return;
    received.unSubscribe();
    // start() sets `connecting`, then creates the DTLS socket in the same synchronous step.
    queueMicrotask(() => {
      const socket = (transport.dtls as unknown as DtlsSocketInternals | undefined)?.transport?.socket;
      const records = early.splice(0);
      if (records.length === 0 || !socket?.onData) return;
      for (const record of records) socket.onData(record);
      handed(records.length);
    });
  });
  return () => {
    received.unSubscribe();
    started.unSubscribe();
  };
}
