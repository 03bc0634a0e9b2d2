/**
 * One native control-plane session (src/engines/native/session.ts) on the loopback stand-in of
 * the data plane (loopback-plane.ts), wired the way the engine will wire it: the offer's
 * candidates kept to loopback (the route's candidate policy, so our checks never leave
 * loopback), our host candidates on sockets bound to 127.0.0.1 and/or ::1, every plane event
 * routed to the session. `unreachable` announces a socket that drops everything instead: the
 * client cannot reach us, and only our own checks can connect it.
 */
import { hostCandidates } from '../../src/ice/candidates.js';
import type { IceTiming } from '../../src/ice/agent.js';
import type { PlaneEvent } from '../../src/engines/native/plane.js';
import { NativeSession, type NativeSessionOptions, type NativeSessionState } from '../../src/engines/native/session.js';
import { applyCandidatePolicy, parseCidrList } from '../../src/sdp/candidate-policy.js';
import { parseOffer } from '../../src/sdp/offer.js';
import { createLoopbackPlane, type LoopbackPlane } from './loopback-plane.js';

export interface NativeTestSession {
  session: NativeSession;
  plane: LoopbackPlane;
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
  errors: unknown[];
  close(): void;
}

export interface NativeTestOptions {
  families?: Array<'127.0.0.1' | '::1'>;
  /** true: announce sockets that drop everything; 'no-candidates': announce none (the client learns us from our checks only). */
  unreachable?: boolean | 'no-candidates';
  checkHoldOffMs?: number;
  iceTiming?: Partial<IceTiming>;
  maxMessageSize?: number;
  admitDataChannel?(label: string): boolean;
  iceTrace?: NativeSessionOptions['iceTrace'];
  dtlsRole?: 'client' | 'server';
}

const LOOPBACK_ONLY = { allow: parseCidrList('127.0.0.0/8,::1/128'), deny: [], refuseLocal: false };

export async function answerWithNativeSession(offerSdp: string, options: NativeTestOptions = {}): Promise<NativeTestSession> {
  let session: NativeSession | undefined;
  const plane = await createLoopbackPlane((events: PlaneEvent[]) => {
    for (const event of events) {
      if (!session) continue;
      if (event.type === 'stun') session.receiveStun(event.socket, event.from, event.data);
      else if (event.session === session.id) session.handle(event);
    }
  });
  const sockets: Array<{ socket: number; local: { address: string; port: number } }> = [];
  for (const address of options.families ?? ['127.0.0.1']) sockets.push(await plane.open(address));
  const candidates = hostCandidates(sockets);
  let announced = candidates;
  if (options.unreachable === 'no-candidates') {
    announced = [];
  } else if (options.unreachable) {
    const holes: typeof sockets = [];
    for (const address of options.families ?? ['127.0.0.1']) {
      const hole = await plane.open(address);
      plane.blackhole(hole.socket);
      holes.push(hole);
    }
    announced = candidates.map((c, i) => ({ ...c, port: holes[i]!.local.port }));
  }
  const filtered = applyCandidatePolicy(parseOffer(offerSdp), LOOPBACK_ONLY).offer;
  const states: NativeSessionState[] = [];
  const stateAt: NativeTestSession['stateAt'] = {};
  const errors: unknown[] = [];
  const ice = { connectedAt: undefined as number | undefined };
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
  const started = session;
  const offerCandidates = started.answer.offer.candidates.length;
  started.start();
  return {
    session: started,
    plane,
    answerSdp: started.answer.sdp,
    states,
    answeredAt: performance.now(),
    stateAt,
    get iceConnectedAt() {
      return ice.connectedAt;
    },
    offerCandidates,
    errors,
    close() {
      started.close();
      plane.close();
    },
  };
}
