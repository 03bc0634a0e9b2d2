/**
 * A sign of life from a libdatachannel echo peer's client, for the session's idle rule.
 *
 * libdatachannel keeps ICE inside libjuice and shows JavaScript nothing of it: the client's
 * consent checks and its answers to libjuice's own are handled in C (libjuice src/agent.c,
 * agent_process_stun_binding), PeerConnection.bytesReceived() counts SCTP payload bytes only
 * (libdatachannel src/peerconnection.cpp, bytesReceived), and consent expires after a
 * compile-time 30 s (libjuice src/agent.h, CONSENT_TIMEOUT). So an idle client, which sends
 * nothing but ICE, looks exactly like a vanished one. This asks the client itself: a Binding
 * request with the session's ICE credentials, from a socket of ours, to the client's address
 * on the selected pair. A live ICE agent answers any such request (RFC 8445 §7.3); it also
 * records our socket as a peer-reflexive candidate and may check it, which we leave
 * unanswered, so that pair fails and is never selected (it has the lowest priority anyway).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { ParsedSdp } from '../../sdp/parsed-offer.js';
import { encodeBindingRequest, parseBindingAnswer } from '../../stun/binding.js';

export interface IceCredentials {
  ufrag: string;
  pwd: string;
}

/**
 * The first `a=ice-ufrag` and `a=ice-pwd` of a parsed description (the session's, else the first
 * section's): libdatachannel bundles everything on one transport.
 */
export function iceCredentials(description: ParsedSdp): IceCredentials | undefined {
  const parts = [description, ...description.media];
  const ufrag = parts.find((p) => p.iceUfrag)?.iceUfrag;
  const pwd = parts.find((p) => p.icePwd)?.icePwd;
  return ufrag && pwd ? { ufrag: String(ufrag), pwd: String(pwd) } : undefined;
}

export interface ProbeTarget {
  address: string;
  port: number;
}

/** Lowest candidate type and local preference: the client never prefers the pair it learns from us. */
const PROBE_PRIORITY = 255;
/** An answer later than this is not waited for. */
const ANSWER_WAIT_MS = 5_000;

interface Pending {
  password: string;
  target: ProbeTarget;
  onAnswer: () => void;
  timer: NodeJS.Timeout;
}

/** Every probe in the process shares one socket per address family. */
const pending = new Map<string, Pending>();
const sockets = new Map<'udp4' | 'udp6', Socket>();

function socketFor(family: 'udp4' | 'udp6'): Socket {
  let socket = sockets.get(family);
  if (socket) return socket;
  socket = createSocket({ type: family, ipv6Only: family === 'udp6' });
  const own = socket;
  own.on('message', onDatagram);
  // A socket that failed is replaced by the next probe.
  own.on('error', () => {
    if (sockets.get(family) === own) sockets.delete(family);
    own.close();
  });
  // Bound on first send (any address, a free port); never holds the process up.
  own.unref();
  sockets.set(family, own);
  return own;
}

function onDatagram(packet: Buffer, from: RemoteInfo): void {
  // Only STUN answers (first two bits 0, class bits of a response); the client's own checks of
  // our socket are left unanswered on purpose.
  if (packet.length < 20 || (packet[0]! & 0xc0) !== 0) return;
  const transactionId = packet.subarray(8, 20).toString('hex');
  const probe = pending.get(transactionId);
  if (!probe || probe.target.port !== from.port || !sameAddress(probe.target.address, from.address)) return;
  if (!parseBindingAnswer(packet, probe.password)) return;
  pending.delete(transactionId);
  clearTimeout(probe.timer);
  probe.onAnswer();
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** One echo peer's probe: send() asks, `answers` counts what came back. */
export class LivenessProbe {
  answers = 0;
  readonly #tieBreaker = randomBytes(8);
  readonly #sent = new Set<string>();
  #closed = false;

  constructor(
    /** Ours (the answer's) and the client's (the offer's). */
    private readonly local: IceCredentials,
    private readonly remote: IceCredentials,
    /** The client's address on the selected candidate pair, when there is one. */
    private readonly target: () => ProbeTarget | undefined,
    private readonly log: (err: unknown) => void,
  ) {}

  /** One Binding request to the client; never throws. */
  send(): void {
    if (this.#closed) return;
    try {
      const target = this.target();
      const family = target && isIP(target.address);
      if (!target || !family) return; // not connected, or an address we cannot send to (an mDNS name)
      const { packet, transactionId } = encodeBindingRequest({
        username: `${this.remote.ufrag}:${this.local.ufrag}`,
        password: this.remote.pwd,
        priority: PROBE_PRIORITY,
        tieBreaker: this.#tieBreaker,
      });
      const timer = setTimeout(() => this.#forget(transactionId), ANSWER_WAIT_MS).unref();
      pending.set(transactionId, { password: this.remote.pwd, target, onAnswer: () => this.#answered(transactionId), timer });
      this.#sent.add(transactionId);
      socketFor(family === 6 ? 'udp6' : 'udp4').send(packet, target.port, target.address, (err) => err && this.log(err));
    } catch (err) {
      this.log(err);
    }
  }

  close(): void {
    this.#closed = true;
    for (const transactionId of this.#sent) this.#forget(transactionId);
  }

  #answered(transactionId: string): void {
    this.#sent.delete(transactionId);
    if (!this.#closed) this.answers++;
  }

  #forget(transactionId: string): void {
    this.#sent.delete(transactionId);
    const probe = pending.get(transactionId);
    if (!probe) return;
    clearTimeout(probe.timer);
    pending.delete(transactionId);
  }
}
