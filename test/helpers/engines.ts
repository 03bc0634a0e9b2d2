/**
 * The server engines the tests run: every engine of the registry, but the native one where its
 * addon is unavailable outside CI (no compiler here: the suites that loop over engines then run
 * the others, as test/native/ skips; in CI its absence fails them, as a missing tool does).
 */
import { ENGINE_NAMES } from '../../src/engines/registry.js';
import { loadNativeAddon } from '../../src/engines/native/addon.js';

function nativeRuns(): boolean {
  return Boolean(process.env.CI) || 'addon' in loadNativeAddon();
}

export const TESTED_ENGINES = ENGINE_NAMES.filter((name) => name !== 'native' || nativeRuns());
