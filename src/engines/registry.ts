import type { Engine, EngineName } from './engine.js';

/** Engines load lazily: a stack's native addon is only loaded when someone uses it. */
const loaders: Record<EngineName, () => Promise<Engine>> = {
  libdatachannel: async () => {
    // First, before node-datachannel loads its addon: our patched copy of it must be in place
    // (written at build time; addon-patches.ts). Refuses, with what is missing, otherwise.
    (await import('./libdatachannel/addon-patches.js')).requireAddonPatches();
    return (await import('./libdatachannel/index.js')).libdatachannelEngine;
  },
  werift: async () => (await import('./werift/index.js')).weriftEngine,
  libwebrtc: async () => (await import('./libwebrtc/index.js')).libwebrtcEngine,
};

export const ENGINE_NAMES = Object.keys(loaders) as EngineName[];
export const DEFAULT_ENGINE: EngineName = 'libdatachannel';

export async function loadEngine(name: EngineName): Promise<Engine> {
  return loaders[name]();
}
