/** Janus 1.1 (Debian) with its EchoTest plugin, as a server only: src/interop/janus/ wraps it in POST /offer. */
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { ECHOTEST_PLUGIN, HTTP_TRANSPORT, JANUS_PATH } from '../janus/config.js';
import type { Availability, InteropPeer } from '../peer.js';
import { startServerProcess } from './spawn-peer.js';
import { debianVersion } from './versions.js';

const INSTALL = 'bash interop/setup/janus.sh (apt-get install -y janus)';

export const janusPeer: InteropPeer = {
  name: 'janus',
  ours: false,
  label: 'Janus 1.1 EchoTest (Debian)',
  keyLog: { writes: false, note: "Janus 1.1 has no key log option, and Debian's OpenSSL 3.0 does not read SSLKEYLOGFILE" },
  async detect(root): Promise<Availability> {
    for (const [path, mode] of [[JANUS_PATH, constants.X_OK], [ECHOTEST_PLUGIN, constants.R_OK], [HTTP_TRANSPORT, constants.R_OK]] as const) {
      try {
        await access(path, mode);
      } catch {
        return { available: false, reason: `${path} is missing`, install: INSTALL };
      }
    }
    try {
      await access(join(root, 'dist', 'interop', 'janus', 'main.js'));
    } catch {
      return { available: false, reason: 'dist/interop/janus/main.js is missing', install: 'npm run build' };
    }
    return { available: true, version: await debianVersion('janus') };
  },
  server: {
    // Not direct: Janus gathers every interface but loopback (ice_enforce_list did not take
    // 127.0.0.1 here), so on this machine's own stack its answers send clients to eth0's
    // addresses, which test traffic must not reach (and our clients, on loopback only, cannot).
    networks: ['nat', 'relay', 'server-outbound'],
    start: (port, root, site, options) =>
      startServerProcess(process.execPath, [join(root, 'dist', 'interop', 'janus', 'main.js'), '--host', site.serverListen, '--port', String(port)], { root, port, site, env: options?.env }),
  },
};
