/**
 * The process's native data plane: one per process (one thread, one DTLS certificate), started
 * with the first session and closed once the last one has been gone for PLANE_IDLE_CLOSE_MS,
 * since an open plane keeps the process alive as a socket does. It hands the plane's events to
 * whoever listens: STUN by socket (a session's own socket, or the mux socket's IceRouter),
 * everything else by session id.
 *
 * Sockets: a port per session (in --udp-port-range, else any), or with --udp-mux one socket on
 * that port for every session of the process, its STUN routed by the IceRouter (requests by
 * USERNAME, answers by transaction id) and its other packets by the address ICE validated.
 */
import { IceRouter } from '../../ice/router.js';
import type { AnsweredByPlane } from '../../ice/types.js';
import type { NativeAddon, NativePlane, PlaneEvent, PlaneOptions, UdpAddress } from './plane.js';

type SessionEvent = Exclude<PlaneEvent, { type: 'stun' }>;
/** `answered`: the plane answered this check itself (plane.ts CreateSessionOptions.ice). */
export type StunHandler = (socket: number, from: UdpAddress, data: Buffer, local: string, answered: AnsweredByPlane | undefined) => void;

/** A socket a session holds: give it back with `release()`. */
export interface SocketLease {
  readonly socket: number;
  readonly local: UdpAddress;
  /** The mux socket's router (`--udp-mux`); undefined on a socket of the session's own. */
  readonly router: IceRouter | undefined;
  release(): void;
}

interface MuxSocket {
  port: number;
  socket: number;
  local: UdpAddress;
  router: IceRouter;
}

/**
 * How long a plane with no session left stays up for the next one. Starting a plane (its thread
 * and a fresh DTLS key and certificate) costs 0.5-0.9 ms of the JavaScript thread, on the offer's
 * path, and closing it joins the thread: with one client after another (each session gone
 * before the next offer) that was ~1 ms of every answer. Short, because an idle plane still
 * keeps the process alive: a process whose work is done exits at most this much later.
 */
export const PLANE_IDLE_CLOSE_MS = 1_000;

/** Where sockets bind: dual stack, or IPv4 alone on a host without IPv6. */
const BIND_ADDRESSES = ['::', '0.0.0.0'];

/**
 * The plane's options from the environment: WEBRTC_ECHO_NATIVE_COALESCE_US sets
 * `coalesceMicroseconds` (0-100000; unset: the plane's default, 200). An operator's knob for the
 * CPU-versus-echo-delay trade (docs/performance.md, "native engine"); a bad value throws, so
 * the server refuses to start rather than run with a setting it was not given.
 */
export function planeOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): PlaneOptions {
  const options: PlaneOptions = {};
  const raw = env.WEBRTC_ECHO_NATIVE_COALESCE_US;
  if (raw !== undefined && raw !== '') {
    const micros = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || micros > 100_000) {
      throw new Error(`WEBRTC_ECHO_NATIVE_COALESCE_US must be an integer 0-100000 (microseconds), not ${JSON.stringify(raw)}`);
    }
    options.coalesceMicroseconds = micros;
  }
  // The ICE fast path (checks answered on the plane thread) is on unless this says 0: for
  // measuring against JavaScript's answers, and a way back should the plane's answers misbehave.
  const answers = env.WEBRTC_ECHO_NATIVE_ICE_ANSWERS;
  if (answers !== undefined && answers !== '') {
    if (answers !== '0' && answers !== '1') throw new Error(`WEBRTC_ECHO_NATIVE_ICE_ANSWERS must be 0 or 1, not ${JSON.stringify(answers)}`);
    options.answerIceChecks = answers === '1';
  }
  return options;
}

export class PlaneHost {
  #plane: NativePlane | undefined;
  #users = 0;
  #closing: NodeJS.Timeout | undefined;
  #mux: MuxSocket | undefined;
  readonly #stun = new Map<number, StunHandler>();
  readonly #sessions = new Map<number, (event: SessionEvent) => void>();

  constructor(
    private readonly addon: NativeAddon,
    /** Called with an error thrown by a listener (the plane goes on). */
    private readonly onListenerError: (err: unknown) => void,
    /** What every plane of this host starts with (planeOptionsFromEnv). */
    private readonly planeOptions: PlaneOptions = {},
    /** How long an unused plane waits for a new session before it closes (tests shorten it). */
    private readonly idleCloseMs: number = PLANE_IDLE_CLOSE_MS,
  ) {}

  /** The plane, started if need be; every acquire() is paired with a release(). Throws when the plane cannot start. */
  acquire(): NativePlane {
    if (this.#closing) {
      clearTimeout(this.#closing);
      this.#closing = undefined;
    }
    if (!this.#plane) {
      const plane = this.addon.createPlane((events) => this.#deliver(events), this.planeOptions);
      if (typeof plane === 'string') throw new Error(`the native data plane did not start: ${plane}`);
      this.#plane = plane;
    }
    this.#users++;
    return this.#plane;
  }

  /** Once the last user is gone and no new one came within `idleCloseMs`, the plane closes. */
  release(): void {
    if (this.#users === 0) return;
    this.#users--;
    if (this.#users > 0 || this.#closing) return;
    // Never from inside the plane's own event delivery: a timer, at the soonest on the next turn.
    this.#closing = setTimeout(() => {
      this.#closing = undefined;
      if (this.#users === 0) this.close();
    }, this.idleCloseMs);
  }

  get plane(): NativePlane | undefined {
    return this.#plane;
  }

  /**
   * A socket for one session: a port of its own in `range` (any port without one), or the
   * process's mux socket on `muxPort`. An error string when no port is free or it cannot bind.
   */
  openSocket(options: { portRange?: { min: number; max: number }; muxPort?: number }): SocketLease | string {
    const plane = this.#plane;
    if (!plane) return 'the data plane is not running';
    if (options.muxPort !== undefined) return this.#muxLease(plane, options.muxPort);
    const opened = bind(plane, options.portRange?.min ?? 0, options.portRange?.max ?? 0);
    if (typeof opened === 'string') return opened;
    return {
      ...opened,
      router: undefined,
      release: () => {
        this.#stun.delete(opened.socket);
        plane.closeSocket(opened.socket);
      },
    };
  }

  /** STUN that arrives on `socket` goes to `handler` (a session's own socket). */
  onStun(socket: number, handler: StunHandler): void {
    this.#stun.set(socket, handler);
  }

  onSession(session: number, handler: (event: SessionEvent) => void): void {
    this.#sessions.set(session, handler);
  }

  offSession(session: number): void {
    this.#sessions.delete(session);
  }

  /** Test hook (WEBRTC_ECHO_TEST_HOOKS=1): the data-plane thread dies, and the process with it. */
  crashForTest(): boolean {
    if (!this.#plane?.crashDataPlaneForTest) return false;
    this.#plane.crashDataPlaneForTest();
    return true;
  }

  /** Closes the plane now (every session on it is gone with it). */
  close(): void {
    if (this.#closing) {
      clearTimeout(this.#closing);
      this.#closing = undefined;
    }
    const plane = this.#plane;
    this.#plane = undefined;
    this.#mux = undefined;
    this.#users = 0;
    this.#stun.clear();
    this.#sessions.clear();
    plane?.close();
  }

  #muxLease(plane: NativePlane, port: number): SocketLease | string {
    let mux = this.#mux;
    if (mux && mux.port !== port) {
      // Kept from sessions that are all gone (an idle plane taken over, this session its only
      // user): another server of this process asks for another port, as it could before the
      // plane was kept idle. While sessions are on it, it stays.
      if (this.#users > 1) return `the mux socket is on port ${mux.port}, not ${port}`;
      this.#stun.delete(mux.socket);
      plane.closeSocket(mux.socket);
      this.#mux = mux = undefined;
    }
    if (!mux) {
      const opened = bind(plane, port, port);
      if (typeof opened === 'string') return `cannot bind the UDP mux port ${port}: ${opened}`;
      const router = new IceRouter();
      mux = { port, ...opened, router };
      this.#mux = mux;
      this.#stun.set(opened.socket, (socket, from, data, local, answered) => router.route(socket, from, data, local, answered));
    }
    // The mux socket lives as long as the plane: sessions come and go on it.
    return { socket: mux.socket, local: mux.local, router: mux.router, release: () => {} };
  }

  #deliver(events: PlaneEvent[]): void {
    for (const event of events) {
      try {
        if (event.type === 'stun') this.#stun.get(event.socket)?.(event.socket, event.from, event.data, event.local, event.answered ? { check: event.check } : undefined);
        else this.#sessions.get(event.session)?.(event);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }
}

function bind(plane: NativePlane, portMin: number, portMax: number): { socket: number; local: UdpAddress } | string {
  let error = '';
  for (const address of BIND_ADDRESSES) {
    const opened = plane.openSocket({ address, portMin, portMax });
    if (typeof opened !== 'string') return opened;
    error = opened;
    // A port range that is full is full for IPv4 alone too.
    if (/no free UDP port/.test(opened)) break;
  }
  return error;
}
