/**
 * A foreign DTLS-SRTP peer for the native plane's tests: werift's DTLS client or server and its
 * SRTP/SRTCP sessions, over a node:dgram socket on loopback. It plays the client's part of an
 * echo session without ICE (the tests allow and select its address on the plane directly).
 */
import { X509Certificate } from 'node:crypto';
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import {
  CipherContext,
  DtlsClient,
  DtlsServer,
  keyLength,
  RtpHeader,
  saltLength,
  SrtcpSession,
  SrtpSession,
  type SrtpProfile,
} from 'werift';
import type { UdpAddress } from '../../src/engines/native/plane.js';

export const WERIFT_PROFILES = { SRTP_AES128_CM_SHA1_80: 1, SRTP_AEAD_AES_128_GCM: 7 } as const;
export type WeriftProfileName = keyof typeof WERIFT_PROFILES;

type DtlsSocket = DtlsClient | DtlsServer;

export class WeriftPeer {
  readonly rtp: Buffer[] = [];
  readonly rtcp: Buffer[] = [];
  readonly appData: Buffer[] = [];
  /** SRTP or SRTCP that came but did not decrypt. */
  undecryptable = 0;
  mediaDatagrams = 0;
  /** Datagrams that came while DTLS was not set up, by first byte (ClientHello retransmissions). */
  readonly dtlsDatagrams: Buffer[] = [];
  /** The source address of every datagram that came, in order. */
  readonly sources: string[] = [];
  #dtls?: DtlsSocket;
  #srtp?: SrtpSession;
  #srtcp?: SrtcpSession;
  #onDtls: (data: Buffer) => void = () => {};
  #waiters: Array<() => void> = [];
  #remote?: UdpAddress;

  private constructor(
    readonly socket: dgram.Socket,
    readonly cert: { certPem: string; keyPem: string; signatureHash: { hash: 4; signature: 3 } },
    readonly fingerprint: { algorithm: 'sha-256'; value: string },
  ) {
    socket.on('message', (data, from) => {
      this.sources.push(from.address);
      this.#onDatagram(data);
    });
  }

  static async create(host = '127.0.0.1'): Promise<WeriftPeer> {
    const cert = (await CipherContext.createSelfSignedCertificateWithKey({ hash: 4, signature: 3 }, 23)) as WeriftPeer['cert'];
    const fingerprint = { algorithm: 'sha-256' as const, value: new X509Certificate(cert.certPem).fingerprint256 };
    // A burst of echoes must wait in the kernel while werift decrypts in JavaScript.
    const socket = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 4 * 1024 * 1024 });
    await new Promise<void>((resolve) => socket.bind(0, host, resolve));
    return new WeriftPeer(socket, cert, fingerprint);
  }

  get address(): UdpAddress {
    const { address, port } = this.socket.address() as AddressInfo;
    return { address, port };
  }

  /** Runs the DTLS handshake with `remote` in `role`; resolves once SRTP keys are in place. */
  async connect(remote: UdpAddress, role: 'client' | 'server', profile: WeriftProfileName): Promise<DtlsSocket> {
    this.#remote = remote;
    const transport = {
      type: 'udp',
      address: this.socket.address() as AddressInfo,
      closed: false,
      onData: (_data: Buffer, _addr: unknown) => {},
      send: (data: Buffer) => new Promise<void>((resolve) => this.socket.send(data, remote.port, remote.address, () => resolve())),
      close: async () => {},
    };
    const options = {
      transport,
      cert: this.cert.certPem,
      key: this.cert.keyPem,
      signatureHash: this.cert.signatureHash,
      srtpProfiles: [WERIFT_PROFILES[profile]] as SrtpProfile[],
      extendedMasterSecret: true,
      certificateRequest: true,
    };
    const dtls: DtlsSocket = role === 'client' ? new DtlsClient(options) : new DtlsServer(options);
    this.#dtls = dtls;
    this.#onDtls = (data) => transport.onData(data, remote);
    dtls.onData.subscribe((data: Buffer) => {
      this.appData.push(Buffer.from(data));
      this.#wake();
    });
    const connected = new Promise<void>((resolve, reject) => {
      dtls.onConnect.once(() => resolve());
      dtls.onError.once((err: Error) => reject(err));
    });
    if (dtls instanceof DtlsClient) await dtls.connect();
    await connected;
    const chosen = dtls.srtp.srtpProfile as SrtpProfile;
    const keys = dtls.extractSessionKeys(keyLength(chosen), saltLength(chosen));
    const config = {
      keys: {
        localMasterKey: keys.localKey as Buffer,
        localMasterSalt: keys.localSalt as Buffer,
        remoteMasterKey: keys.remoteKey as Buffer,
        remoteMasterSalt: keys.remoteSalt as Buffer,
      },
      profile: chosen,
    };
    this.#srtp = new SrtpSession(config);
    this.#srtcp = new SrtcpSession(config);
    return dtls;
  }

  /** The fingerprint of the certificate the remote presented, as SDP writes it. */
  remoteFingerprint(): string | undefined {
    const der = this.#dtls?.remoteCertificate;
    return der ? new X509Certificate(der).fingerprint256 : undefined;
  }

  /** Encrypts a plain RTP packet and sends it. */
  sendRtp(plain: Buffer): void {
    const header = RtpHeader.deSerialize(plain);
    this.#sendRaw(this.#srtp!.encrypt(plain.subarray(header.payloadOffset), header));
  }

  sendRtcp(plain: Buffer): void {
    this.#sendRaw(this.#srtcp!.encrypt(plain));
  }

  async sendApplicationData(data: Buffer): Promise<void> {
    await this.#dtls!.send(data);
  }

  sendRaw(data: Buffer, to: UdpAddress | undefined = this.#remote): void {
    if (to) this.socket.send(data, to.port, to.address);
  }

  #sendRaw(data: Buffer): void {
    this.sendRaw(data);
  }

  /** Resolves when `check` holds, re-checked on every datagram. */
  async until(check: () => boolean, ms: number, label: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms: ${label}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    // werift retransmits a flight it got no answer to for ~30 s, on timers of its own: marking
    // the handshake as past every flight ends those loops at their next timer.
    const state = (this.#dtls as unknown as { dtls?: { flight: number } } | undefined)?.dtls;
    if (state) state.flight = Number.MAX_SAFE_INTEGER;
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #onDatagram(data: Buffer): void {
    const first = data[0] ?? 0;
    if (first >= 20 && first <= 63) {
      if (!this.#dtls) this.dtlsDatagrams.push(Buffer.from(data));
      else this.#onDtls(data);
    } else if (first >= 128 && first <= 191 && this.#srtp) {
      this.mediaDatagrams++;
      const type = data[1] ?? 0;
      try {
        if (type >= 192 && type <= 223) this.rtcp.push(Buffer.from(this.#srtcp!.decrypt(data)));
        else this.rtp.push(Buffer.from(this.#srtp.decrypt(data)));
      } catch {
        this.undecryptable++;
      }
    }
    this.#wake();
  }
}

/** A plain RTP packet (RFC 3550 §5.1), with a one-byte mid header extension when `mid` is given. */
export function rtpPacket(options: {
  ssrc: number;
  seq: number;
  payloadType?: number;
  timestamp?: number;
  payload: Buffer;
  /** RFC 8285: the one-byte form (profile 0xBEDE) unless `twoByte`. */
  mid?: { id: number; value: string; twoByte?: boolean };
  /** Other header extension elements before the mid, in the same form. */
  extensions?: Array<{ id: number; value: Buffer }>;
}): Buffer {
  const twoByte = options.mid?.twoByte ?? false;
  const elements = [...(options.extensions ?? []), ...(options.mid ? [{ id: options.mid.id, value: Buffer.from(options.mid.value) }] : [])];
  const extension =
    elements.length > 0
      ? (() => {
          // (a padding byte first in the two-byte form, which a reader must skip)
          const parts = elements.map(({ id, value }) =>
            Buffer.concat([twoByte ? Buffer.from([0, id, value.length]) : Buffer.from([(id << 4) | (value.length - 1)]), value]),
          );
          const element = Buffer.concat(parts);
          const body = Buffer.alloc(Math.ceil(element.length / 4) * 4);
          element.copy(body);
          const header = Buffer.alloc(4);
          header.writeUInt16BE(twoByte ? 0x1000 : 0xbede, 0);
          header.writeUInt16BE(body.length / 4, 2);
          return Buffer.concat([header, body]);
        })()
      : Buffer.alloc(0);
  const header = Buffer.alloc(12);
  header[0] = 0x80 | (elements.length > 0 ? 0x10 : 0);
  header[1] = options.payloadType ?? 96;
  header.writeUInt16BE(options.seq & 0xffff, 2);
  header.writeUInt32BE((options.timestamp ?? options.seq * 3000) >>> 0, 4);
  header.writeUInt32BE(options.ssrc >>> 0, 8);
  return Buffer.concat([header, extension, options.payload]);
}
