/**
 * A native plane for a test: loaded through the engine's own loader (so WEBRTC_ECHO_NATIVE_ADDON
 * picks the ASan build when the ASan run sets it), its events collected, closed after the test.
 */
import type { TestContext } from 'node:test';
import { loadNativeAddon } from '../../src/engines/native/addon.js';
import { skipUnlessCi } from '../helpers/timeout.js';
import type { CreateSessionOptions, NativeAddon, NativePlane, PlaneEvent, PlaneOptions, UdpAddress } from '../../src/engines/native/plane.js';

/**
 * A reason to skip the tests that need the built addon, outside CI only: `npm ci` builds it
 * where a compiler is (.ci/run installs one), so there its absence is a failure.
 */
export function skipWithoutAddon(): string | false {
  const load = loadNativeAddon();
  return skipUnlessCi('unavailable' in load ? `the native addon is unavailable: ${load.unavailable}` : undefined);
}

export function nativeAddon(): NativeAddon {
  const load = loadNativeAddon();
  if ('unavailable' in load) throw new Error(`the native addon is unavailable: ${load.unavailable} (npm run build:native)`);
  // The ASan run (asan.test.ts) must not pass on the plain build by mistake.
  if (process.env.WEBRTC_ECHO_EXPECT_SANITIZERS && !load.addon.versions().sanitizers) {
    throw new Error(`expected the sanitizer build, loaded ${JSON.stringify(load.addon.versions())}`);
  }
  return load.addon;
}

export class PlaneHarness {
  readonly events: PlaneEvent[] = [];
  readonly plane: NativePlane;
  #waiters: Array<() => void> = [];

  constructor(addon: NativeAddon = nativeAddon(), options?: PlaneOptions) {
    const plane = addon.createPlane((events) => {
      this.events.push(...events);
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const wake of waiters) wake();
    }, options);
    if (typeof plane === 'string') throw new Error(`createPlane: ${plane}`);
    this.plane = plane;
  }

  static open(t: TestContext, addon?: NativeAddon, options?: PlaneOptions): PlaneHarness {
    const harness = new PlaneHarness(addon, options);
    t.after(() => harness.plane.close());
    return harness;
  }

  socket(options: { address?: string; portMin?: number; portMax?: number } = {}): { socket: number; local: UdpAddress } {
    const opened = this.plane.openSocket({ address: options.address ?? '127.0.0.1', portMin: options.portMin ?? 0, portMax: options.portMax ?? 0 });
    if (typeof opened === 'string') throw new Error(`openSocket: ${opened}`);
    return opened;
  }

  session(options: CreateSessionOptions): number {
    const session = this.plane.createSession(options);
    if (typeof session === 'string') throw new Error(`createSession: ${session}`);
    return session;
  }

  /** The first event (already here or still to come) that `match` accepts. */
  async event<T extends PlaneEvent>(match: (event: PlaneEvent) => event is T, ms: number, label: string): Promise<T>;
  async event(match: (event: PlaneEvent) => boolean, ms: number, label: string): Promise<PlaneEvent>;
  async event(match: (event: PlaneEvent) => boolean, ms: number, label: string): Promise<PlaneEvent> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.events.find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${label}; events: ${JSON.stringify(this.events.map((e) => e.type))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

export const isConnected = (session: number) => (event: PlaneEvent): event is Extract<PlaneEvent, { type: 'dtls-connected' }> =>
  event.type === 'dtls-connected' && event.session === session;

export const isFailed = (session: number) => (event: PlaneEvent): event is Extract<PlaneEvent, { type: 'dtls-failed' }> =>
  event.type === 'dtls-failed' && event.session === session;
