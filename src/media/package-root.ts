/**
 * Finds files shipped with the package. The same code runs from `src/` (tsx), `dist/`
 * (compiled) and `node_modules/webrtc-echo/dist/` (installed), so paths are resolved from
 * the directory holding our package.json, found by walking up from this module.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'webrtc-echo';

let cachedRoot: string | undefined;

export function packageRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    // Check the name: a build step may drop a bare {"type":"module"} package.json in dist/.
    if (existsSync(manifest) && readName(manifest) === PACKAGE_NAME) {
      cachedRoot = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the ${PACKAGE_NAME} package root above ${import.meta.url}`);
    dir = parent;
  }
}

export function testdataPath(file: string): string {
  return join(packageRoot(), 'testdata', file);
}

function readName(manifest: string): unknown {
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name;
  } catch {
    return undefined;
  }
}
