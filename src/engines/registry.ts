import type { ClientEngine, Engine, EngineName } from './engine.js';
import { EngineUnavailable, hasClientPeer } from './engine.js';

interface EngineEntry {
  /** Engines load lazily: a stack's native addon is only loaded when someone uses it. */
  load(): Promise<Engine>;
  /** Whether it has a client side (Engine.createClientPeer); known before it loads, for --engine's choices. */
  client: boolean;
  /** Whether it gathers through STUN/TURN (capabilities.iceServers); known before it loads, for serve's default. */
  iceServers: boolean;
}

const entries: Record<EngineName, EngineEntry> = {
  libdatachannel: {
    client: true,
    iceServers: true,
    load: async () => {
      // First, before node-datachannel loads its addon: our patched copy of it must be in place
      // (written at build time; addon-patches.ts). Refuses, with what is missing, otherwise.
      (await import('./libdatachannel/addon-patches.js')).requireAddonPatches();
      return (await import('./libdatachannel/index.js')).libdatachannelEngine;
    },
  },
  werift: { client: true, iceServers: true, load: async () => (await import('./werift/index.js')).weriftEngine },
  libwebrtc: { client: true, iceServers: true, load: async () => (await import('./libwebrtc/index.js')).libwebrtcEngine },
  // Server only; throws EngineUnavailable where its addon cannot load (src/engines/native/addon.ts).
  native: { client: false, iceServers: false, load: async () => (await import('./native/index.js')).loadNativeEngine() },
};

export const ENGINE_NAMES = Object.keys(entries) as EngineName[];
/** The engines with a client side: every one but the server-only native engine. */
export const CLIENT_ENGINE_NAMES = ENGINE_NAMES.filter((name) => entries[name].client);
/**
 * What `serve` runs without --engine: our own media plane, which meets every target of issue 17
 * (docs/performance.md, "The native engine"); FALLBACK_ENGINE where it cannot load or is asked
 * to gather through --ice-server (defaultServerEngine).
 */
export const DEFAULT_SERVER_ENGINE: EngineName = 'native';
/** What `client` and the bench's own client peers run without --engine (native is a server only). */
export const DEFAULT_CLIENT_ENGINE: EngineName = 'libdatachannel';
/** What a server runs instead of an engine that cannot load here (`native` without its addon). */
export const FALLBACK_ENGINE: EngineName = 'libdatachannel';

/**
 * The engine `serve` runs without --engine: `preferred` (DEFAULT_SERVER_ENGINE), or FALLBACK_ENGINE
 * when the server is given --ice-server and `preferred` gathers host candidates only (`because`
 * says so, for the server to say once).
 */
export function defaultServerEngine(iceServerCount: number, preferred: EngineName = DEFAULT_SERVER_ENGINE): { name: EngineName; because?: string } {
  if (iceServerCount === 0 || entries[preferred].iceServers) return { name: preferred };
  return { name: FALLBACK_ENGINE, because: `--ice-server is given, and the ${preferred} engine gathers host candidates only` };
}

/** Rejects with EngineUnavailable when the engine cannot run here. */
export async function loadEngine(name: EngineName): Promise<Engine> {
  return entries[name].load();
}

/** An engine with a client side; rejects for a server-only one. */
export async function loadClientEngine(name: EngineName): Promise<ClientEngine> {
  const engine = await loadEngine(name);
  if (!hasClientPeer(engine)) throw new Error(`the ${name} engine is a server only; clients: ${CLIENT_ENGINE_NAMES.join(', ')}`);
  return engine;
}

/**
 * The engine a server runs for `name`: that one, or FALLBACK_ENGINE where it cannot load here
 * (`unavailable` says why, for the server to say once).
 */
export async function loadServerEngine(name: EngineName): Promise<{ engine: Engine; unavailable?: string }> {
  try {
    return { engine: await loadEngine(name) };
  } catch (err) {
    if (!(err instanceof EngineUnavailable) || name === FALLBACK_ENGINE) throw err;
    return { engine: await loadEngine(FALLBACK_ENGINE), unavailable: err.reason };
  }
}
