/**
 * One native control-plane session (src/engines/native/session.ts) on the real C++ data plane
 * (a plane of its own, closed with the session), wired as the engine wires it but with the knobs
 * the engine keeps to itself: the check hold-off, ICE timing, the DTLS role, the sockets'
 * addresses. The offer's candidates are kept to loopback (the route's candidate policy) and
 * nothing the ICE agent sends leaves loopback: a pion client also checks from its 192.0.2.2
 * socket, and that check goes unanswered (the rule for tests: loopback only).
 *
 * `unreachable` announces sockets whose STUN nobody reads instead of ours: the client cannot
 * reach us, and only our own checks can connect it. `deafen(socket)` makes the agent hear
 * nothing more on a socket, as when a client vanishes (its consent then expires).
 *
 * `planeAnswersIce` turns on the plane's own answers to checks (the engine's default, plane.ts
 * CreateSessionOptions.ice). Off by default here: the plane answers a check from any address
 * on the thread, where this helper cannot keep its answer on loopback, and a pion, werift or
 * libwebrtc client also checks our loopback candidates from its eth0 socket. Turn it on for
 * clients that check from loopback only (libdatachannel: one socket on a wildcard); an answered
 * check from elsewhere is recorded in `errors`.
 */
import { hostCandidates } from '../../src/ice/candidates.js';
import type { IceTiming } from '../../src/ice/agent.js';
import type { NativePlane, PlaneEvent, UdpAddress } from '../../src/engines/native/plane.js';
import { NativeSession, type NativeSessionOptions, type NativeSessionState } from '../../src/engines/native/session.js';
import { applyCandidatePolicy, parseCidrList } from '../../src/sdp/candidate-policy.js';
import { parseOffer } from '../../src/sdp/offer.js';
import { nativeAddon } from '../native/plane-harness.js';

export interface NativeTestSession {
  session: NativeSession;
  plane: NativePlane;
  answerSdp: string;
  states: NativeSessionState[];
  /** When the answer was handed out (performance.now()). */
  answeredAt: number;
  /** When the session reached each state. */
  stateAt: Partial<Record<NativeSessionState, number>>;
  /** When ICE selected a pair (the client nominated it and our check on it succeeded). */
  iceConnectedAt: number | undefined;
  /** Offer candidates the policy kept. */
  offerCandidates: number;
  /** Datagrams the agent sent that the helper kept off the wire (not to loopback). */
  droppedNonLoopback: number;
  /** Binding success responses the agent in JavaScript sent (the plane's own are in its stats: stunAnswered). */
  agentAnswers: number;
  errors: unknown[];
  /** From now on STUN arriving on `socket` is not handed to the agent (a client that vanished). */
  deafen(socket: number): void;
  close(): void;
}

export interface NativeTestOptions {
  families?: Array<'127.0.0.1' | '::1'>;
  /** true: announce sockets nobody answers on; 'no-candidates': announce none (the client learns us from our checks only). */
  unreachable?: boolean | 'no-candidates';
  checkHoldOffMs?: number;
  iceTiming?: Partial<IceTiming>;
  maxMessageSize?: number;
  admitDataChannel?(label: string): boolean;
  iceTrace?: NativeSessionOptions['iceTrace'];
  dtlsRole?: 'client' | 'server';
  /** The plane answers the client's checks itself (see above). Default false. */
  planeAnswersIce?: boolean;
}

const LOOPBACK_ONLY = { allow: parseCidrList('127.0.0.0/8,::1/128'), deny: [], refuseLocal: false };

function loopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

function open(plane: NativePlane, address: string): { socket: number; local: UdpAddress } {
  const opened = plane.openSocket({ address, portMin: 0, portMax: 0 });
  if (typeof opened === 'string') throw new Error(`openSocket ${address}: ${opened}`);
  return opened;
}

export async function answerWithNativeSession(offerSdp: string, options: NativeTestOptions = {}): Promise<NativeTestSession> {
  let session: NativeSession | undefined;
  const deaf = new Set<number>();
  const ours = new Set<number>();
  const errors: unknown[] = [];
  const created = nativeAddon().createPlane((events: PlaneEvent[]) => {
    for (const event of events) {
      if (!session) continue;
      if (event.type === 'stun') {
        if (event.answered && !loopback(event.from.address)) errors.push(new Error(`the plane answered a check from ${event.from.address}`));
        if (ours.has(event.socket) && !deaf.has(event.socket)) session.receiveStun(event.socket, event.from, event.data, event.local, event.answered ? { check: event.check } : undefined);
      } else if (event.session === session.id) {
        session.handle(event);
      }
    }
  }, { answerIceChecks: options.planeAnswersIce ?? false });
  if (typeof created === 'string') throw new Error(`createPlane: ${created}`);
  const real = created;
  let droppedNonLoopback = 0;
  let agentAnswers = 0;
  // What the session may use of the plane: the real one, but nothing of ours leaves loopback.
  const plane: NativeSessionOptions['plane'] = {
    fingerprint: real.fingerprint,
    send: (socket, to, data, from) => {
      if (data[0] === 0x01 && data[1] === 0x01) agentAnswers++;
      if (loopback(to.address)) return real.send(socket, to, data, from);
      droppedNonLoopback++;
      return true;
    },
    createSession: (o) => real.createSession(o),
    allowRemote: (s, remote, local) => real.allowRemote(s, remote, local),
    selectRemote: (s, remote, local) => real.selectRemote(s, remote, local),
    stopIceAnswers: (s) => real.stopIceAnswers(s),
    sendApplicationData: (s, data, sctpChecksum) => real.sendApplicationData(s, data, sctpChecksum),
    closeSession: (s) => real.closeSession(s),
  };
  const families = options.families ?? ['127.0.0.1'];
  const sockets = families.map((address) => open(real, address));
  for (const { socket } of sockets) ours.add(socket);
  const candidates = hostCandidates(sockets);
  let announced = candidates;
  if (options.unreachable === 'no-candidates') {
    announced = [];
  } else if (options.unreachable) {
    // Sockets of the plane that no session reads: what reaches them goes nowhere.
    const holes = families.map((address) => open(real, address));
    announced = candidates.map((c, i) => ({ ...c, port: holes[i]!.local.port }));
  }
  const filtered = applyCandidatePolicy(parseOffer(offerSdp), LOOPBACK_ONLY).offer;
  const states: NativeSessionState[] = [];
  const stateAt: NativeTestSession['stateAt'] = {};
  const ice = { connectedAt: undefined as number | undefined };
  try {
    session = new NativeSession({
      plane,
      offer: filtered.parsed,
      sockets,
      candidates,
      announced,
      checkHoldOffMs: options.checkHoldOffMs,
      iceTiming: options.iceTiming,
      maxMessageSize: options.maxMessageSize,
      admitDataChannel: options.admitDataChannel,
      iceTrace: options.iceTrace,
      dtlsRole: options.dtlsRole,
      onState: (state) => {
        states.push(state);
        stateAt[state] ??= performance.now();
      },
      onError: (error) => errors.push(error),
      onIceState: (state) => {
        if (state === 'connected') ice.connectedAt ??= performance.now();
      },
    });
  } catch (error) {
    real.close();
    throw error;
  }
  const started = session;
  const offerCandidates = started.answer.offer.candidates.length;
  started.start();
  return {
    session: started,
    plane: real,
    answerSdp: started.answer.sdp,
    states,
    answeredAt: performance.now(),
    stateAt,
    get iceConnectedAt() {
      return ice.connectedAt;
    },
    offerCandidates,
    get droppedNonLoopback() {
      return droppedNonLoopback;
    },
    get agentAnswers() {
      return agentAnswers;
    },
    errors,
    deafen(socket) {
      deaf.add(socket);
    },
    close() {
      started.close();
      real.close();
    },
  };
}
