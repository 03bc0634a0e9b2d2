/**
 * A stand-in for the native data plane (src/engines/native/plane.ts) in TypeScript, for testing
 * the control plane before the C++ one exists: node dgram sockets on loopback, RFC 7983
 * demultiplexing, and werift's DTLS (real handshakes with real clients, the fingerprint checked).
 * It does what the contract says about STUN, DTLS and application data; it does no SRTP and
 * echoes no media (the C++ plane's job), so media sections connect but nothing comes back.
 *
 * Sockets are opened with `open()` (dgram binds asynchronously; the contract's openSocket is
 * synchronous on the C++ thread).
 */
import { createSocket, type Socket } from 'node:dgram';
import { X509Certificate } from 'node:crypto';
import { CipherContext, DtlsClient, DtlsServer, HashAlgorithm, NamedCurveAlgorithm, SignatureAlgorithm } from 'werift';
import type { CreateSessionOptions, NativePlane, PlaneEvent, SessionStats, UdpAddress } from '../../src/engines/native/plane.js';

type DtlsSocket = DtlsClient | DtlsServer;

interface Session {
  options: CreateSessionOptions;
  allowed: Set<string>;
  remote: UdpAddress | undefined;
  dtls: DtlsSocket | undefined;
  /** werift's DTLS takes datagrams through this. */
  feed: ((data: Buffer) => void) | undefined;
  connected: boolean;
  closed: boolean;
  packetsIn: number;
}

export interface LoopbackPlane extends NativePlane {
  open(address: string): Promise<{ socket: number; local: UdpAddress }>;
  /** Drops every datagram that arrives on this socket from now on (a candidate the client cannot reach). */
  blackhole(socket: number): void;
}

const key = (a: UdpAddress) => `${a.address}|${a.port}`;

/**
 * Tests send only to loopback (the machine's other addresses are not ours to send to): a
 * datagram for anywhere else is dropped here and counted, as if lost on the way. A pion client
 * checks us from its 192.0.2.2 socket too; that check goes unanswered.
 */
export const dropped = { nonLoopback: 0 };
function loopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

export async function createLoopbackPlane(onEvents: (events: PlaneEvent[]) => void): Promise<LoopbackPlane> {
  const keys = await CipherContext.createSelfSignedCertificateWithKey(
    { signature: SignatureAlgorithm.ecdsa_3, hash: HashAlgorithm.sha256_4 },
    NamedCurveAlgorithm.secp256r1_23,
  );
  const fingerprint = { algorithm: 'sha-256' as const, value: new X509Certificate(keys.certPem).fingerprint256 };
  const sockets = new Map<number, Socket>();
  const blackholed = new Set<number>();
  const sessions = new Map<number, Session>();
  let nextId = 1;
  let closed = false;
  const emit = (event: PlaneEvent) => {
    if (!closed) onEvents([event]);
  };

  function onDatagram(socket: number, data: Buffer, from: UdpAddress): void {
    if (blackholed.has(socket) || data.length === 0) return;
    const first = data[0]!;
    if (first < 4) return emit({ type: 'stun', socket, from, local: '', data });
    if (first < 20 || first > 63) return; // RTP/RTCP: no SRTP here
    for (const [id, session] of sessions) {
      if (session.options.socket !== socket || session.closed || !session.allowed.has(key(from))) continue;
      session.packetsIn++;
      // An early ClientHello from a client we are DTLS server for: the handshake goes back where it came from.
      if (!session.dtls && session.options.dtlsRole === 'server') {
        session.remote ??= from;
        startDtls(id, session);
      }
      session.feed?.(data);
      return;
    }
  }

  function startDtls(id: number, session: Session): void {
    const transport = {
      type: 'udp',
      address: {} as never,
      closed: false,
      onData: (_data: Buffer) => {},
      send: async (data: Buffer) => {
        const to = session.remote;
        if (to && !session.closed && loopback(to.address)) sockets.get(session.options.socket)?.send(data, to.port, to.address);
      },
      close: async () => {},
    };
    const options = { cert: keys.certPem, key: keys.keyPem, signatureHash: keys.signatureHash, transport, srtpProfiles: [1, 7], extendedMasterSecret: true };
    const dtls = session.options.dtlsRole === 'client' ? new DtlsClient(options as never) : new DtlsServer({ ...options, certificateRequest: true } as never);
    session.dtls = dtls;
    session.feed = (data) => (transport.onData as (d: Buffer, a: unknown) => void)(data, undefined);
    dtls.onConnect.once(() => {
      const remoteCert = dtls.remoteCertificate;
      const got = remoteCert ? new X509Certificate(remoteCert).fingerprint256 : '';
      if (got.toUpperCase() !== session.options.remoteFingerprint.value.toUpperCase()) {
        return emit({ type: 'dtls-failed', session: id, reason: 'the remote certificate does not match the fingerprint' });
      }
      session.connected = true;
      emit({ type: 'dtls-connected', session: id, role: session.options.dtlsRole, srtpProfile: 'none' });
    });
    dtls.onData.subscribe((data: Buffer) => emit({ type: 'app-data', session: id, data }));
    dtls.onError.subscribe((error: Error) => emit({ type: 'dtls-failed', session: id, reason: error.message }));
    dtls.onClose.subscribe(() => emit({ type: 'dtls-closed', session: id }));
    if (dtls instanceof DtlsClient) dtls.connect().catch((error: Error) => emit({ type: 'dtls-failed', session: id, reason: error.message }));
  }

  function closeSession(id: number): void {
    const session = sessions.get(id);
    if (!session || session.closed) return;
    session.closed = true;
    sessions.delete(id);
    try {
      session.dtls?.close();
    } catch {
      // werift's close of a socket that never connected
    }
  }

  return {
    fingerprint,
    async open(address) {
      const socket = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4', ipv6Only: address.includes(':') });
      const id = nextId++;
      socket.on('message', (data, rinfo) => onDatagram(id, data, { address: rinfo.address, port: rinfo.port }));
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.bind(0, address, resolve));
      sockets.set(id, socket);
      return { socket: id, local: { address, port: socket.address().port } };
    },
    blackhole(socket) {
      blackholed.add(socket);
    },
    openSocket() {
      return 'the loopback plane opens sockets with open()';
    },
    closeSocket(socket) {
      sockets.get(socket)?.close();
      sockets.delete(socket);
    },
    send(socket, to, data) {
      const s = sockets.get(socket);
      if (!s || closed) return false;
      if (!loopback(to.address)) {
        dropped.nonLoopback++;
        return true;
      }
      s.send(data, to.port, to.address);
      return true;
    },
    createSession(options) {
      if (!sockets.has(options.socket)) return 'no such socket';
      const id = nextId++;
      sessions.set(id, { options, allowed: new Set(), remote: undefined, dtls: undefined, feed: undefined, connected: false, closed: false, packetsIn: 0 });
      return id;
    },
    allowRemote(session, remote) {
      const s = sessions.get(session);
      s?.allowed.add(key(remote));
      return s !== undefined;
    },
    selectRemote(id, remote) {
      const session = sessions.get(id);
      if (!session || session.closed) return false;
      session.remote = remote;
      session.allowed.add(key(remote));
      if (!session.dtls && session.options.dtlsRole === 'client') startDtls(id, session);
      return true;
    },
    sendApplicationData(id, data) {
      const session = sessions.get(id);
      if (!session?.connected || !session.dtls || session.closed) return false;
      session.dtls.send(data).catch(() => undefined);
      return true;
    },
    stats(id): SessionStats | undefined {
      const session = sessions.get(id);
      if (!session) return undefined;
      return { packetsIn: session.packetsIn, rtpEchoed: 0, rtpEchoedBytes: 0, rtpDropped: 0, rtcpIn: 0, keyframeRequests: 0, nacksRelayed: 0, srtpAuthFailures: 0 };
    },
    closeSession,
    close() {
      if (closed) return;
      for (const id of [...sessions.keys()]) closeSession(id);
      closed = true;
      for (const socket of sockets.values()) socket.close();
      sockets.clear();
    },
  };
}
