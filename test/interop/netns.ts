/**
 * Two network namespaces joined by a veth pair: a "browser" side (10.99.0.1) and a
 * "server" side (10.99.0.2). Multicast (mDNS) sent in them stays in them: nothing is
 * routed to the machine's own interfaces. Needs root and iproute2.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const BROWSER_ADDRESS = '10.99.0.1';
export const SERVER_ADDRESS = '10.99.0.2';

export interface NamespacePair {
  browser: string;
  server: string;
  /** Prefix for a command run inside a namespace: ['ip', 'netns', 'exec', name]. */
  exec(namespace: string): string[];
  remove(): Promise<void>;
}

/** Why namespaces cannot be made here, or undefined when they can. */
export async function namespacesUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (ip netns add)';
  try {
    await run('ip', ['netns', 'list'], { timeout: 5_000 });
  } catch (err) {
    return `ip netns is unavailable: ${(err as Error).message.split('\n')[0]}`;
  }
  return undefined;
}

export async function createNamespacePair(tag = String(process.pid)): Promise<NamespacePair> {
  const browser = `we-b-${tag}`;
  const server = `we-s-${tag}`;
  const vethB = `web${tag}`.slice(0, 15);
  const vethS = `wes${tag}`.slice(0, 15);
  const pair: NamespacePair = {
    browser,
    server,
    exec: (namespace) => ['ip', 'netns', 'exec', namespace],
    async remove() {
      // Deleting a namespace deletes its end of the veth, and with it the other end.
      for (const ns of [browser, server]) await run('ip', ['netns', 'del', ns], { timeout: 5_000 }).catch(() => undefined);
    },
  };
  try {
    const ip = (...args: string[]) => run('ip', args, { timeout: 5_000 });
    await ip('netns', 'add', browser);
    await ip('netns', 'add', server);
    await ip('link', 'add', vethB, 'type', 'veth', 'peer', 'name', vethS);
    await ip('link', 'set', vethB, 'netns', browser);
    await ip('link', 'set', vethS, 'netns', server);
    await ip('-n', browser, 'addr', 'add', `${BROWSER_ADDRESS}/24`, 'dev', vethB);
    await ip('-n', server, 'addr', 'add', `${SERVER_ADDRESS}/24`, 'dev', vethS);
    for (const [ns, dev] of [[browser, vethB], [server, vethS]] as const) {
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
      // mDNS needs multicast on the link (veth has it by default; say so anyway).
      await ip('-n', ns, 'link', 'set', dev, 'multicast', 'on', 'up');
    }
    // Chromium without camera permission gathers only on the interface of the default
    // route, and with no default route gathers nothing at all. Each side's default route
    // points at the other side, so even that traffic stays in the namespaces.
    await ip('-n', browser, 'route', 'add', 'default', 'via', SERVER_ADDRESS);
    await ip('-n', server, 'route', 'add', 'default', 'via', BROWSER_ADDRESS);
  } catch (err) {
    await pair.remove();
    throw err;
  }
  return pair;
}
