/**
 * The version of each stack in the matrix, for the reports and each cell's evidence: a result
 * is only worth as much as knowing which build gave it. Debian's package version for the
 * foreign peers, the npm package's for our engines. Undefined when it cannot be told.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export function debianVersion(pkg: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('dpkg-query', ['-W', '-f', '${Version}', pkg], { timeout: 10_000 }, (err, stdout) => resolve(err || !stdout.trim() ? undefined : `${pkg} ${stdout.trim()} (Debian)`));
  });
}

export async function npmVersion(root: string, pkg: string): Promise<string | undefined> {
  try {
    const { version } = JSON.parse(await readFile(join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version?: string };
    return version ? `${pkg} ${version}` : undefined;
  } catch {
    return undefined;
  }
}
