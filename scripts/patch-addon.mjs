#!/usr/bin/env node
// Build step: writes node-datachannel's patched addon copy while node_modules is writable
// (src/engines/libdatachannel/addon-patches.ts; docs/workarounds.md). `npm ci` runs it (prepare),
// the Dockerfile runs it as a step of its own. Needs dist/ (npm run build). Exits 1 when a patch
// that exists for this platform is not found in the installed addon: the engine would refuse to
// load it, so a build that ships it must fail here instead.
import { applyAddonPatches, describeMissing } from '../dist/engines/libdatachannel/addon-patches.js';

const state = applyAddonPatches();
for (const p of state.patches) {
  if (p.applied) console.log(`node-datachannel: ${p.name} (${state.binary}, offset 0x${p.offset.toString(16)})`);
}
if (state.patches.every((p) => p.applied)) process.exit(0);
const unsupported = !state.source && state.patches.every((p) => !p.applied && p.reason.startsWith('no patch for'));
console.error(`node-datachannel: ${describeMissing(state)}`);
// Another platform: nothing to build, and the engine says so at run time (ECHO_ALLOW_UNPATCHED_ADDON).
process.exit(unsupported ? 0 : 1);
