import type { RTCDtlsTransport } from 'werift';

/**
 * werift's close() tears down sockets without telling the peer (its DtlsTransport.stop() has
 * "todo impl send alert"), so a remote werift server only notices after the 30 s ICE consent
 * timeout. Browsers, pion and libdatachannel send a close_notify alert (RFC 5246 §7.2.1); this
 * does the same by encrypting one alert record through werift's DTLS socket, which has no API
 * for it: we borrow its application-data path and retag the record before encryption.
 */
export async function sendDtlsCloseNotify(dtls: RTCDtlsTransport | undefined): Promise<void> {
  const socket = dtls?.state === 'connected' ? (dtls.dtls as unknown as DtlsSocketInternals | undefined) : undefined;
  const cipher = socket?.cipher;
  if (!socket || typeof socket.send !== 'function' || typeof cipher?.encryptPacket !== 'function') return;
  const encryptPacket = cipher.encryptPacket.bind(cipher);
  const ALERT = 21;
  cipher.encryptPacket = (pkt) => {
    pkt.recordLayerHeader.contentType = ALERT;
    return encryptPacket(pkt);
  };
  let sent: Promise<void>;
  try {
    // AlertLevel warning (1), AlertDescription close_notify (0).
    sent = socket.send(Buffer.from([1, 0]));
  } finally {
    delete cipher.encryptPacket; // back to the prototype's method
  }
  await sent.catch(() => undefined);
  // werift does not wait for the datagram to leave; closing the socket at once would drop it.
  await new Promise((resolve) => setImmediate(resolve));
}

interface DtlsSocketInternals {
  send(data: Buffer): Promise<void>;
  cipher?: { encryptPacket?: (pkt: { recordLayerHeader: { contentType: number } }) => unknown };
}
