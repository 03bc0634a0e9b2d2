/**
 * A configuration of Debian's Janus 1.1 for the Echo Test, written to a temporary folder:
 * the EchoTest plugin and the HTTP transport only (each folder holds a symlink to the one
 * library, so nothing else loads), the REST API on 127.0.0.1 only, no STUN or TURN (host
 * candidates only; Janus itself leaves loopback out), half-trickle, so that the answer
 * Janus pushes already holds every candidate (janus.c waits for gathering before it sends
 * a JSEP unless full-trickle is on).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const JANUS_PATH = process.env.JANUS_PATH ?? '/usr/bin/janus';
/** Where Debian's janus package puts its plugins and transports. */
export const JANUS_LIB_DIR = process.env.JANUS_LIB_DIR ?? '/usr/lib/x86_64-linux-gnu/janus';
export const ECHOTEST_PLUGIN = join(JANUS_LIB_DIR, 'plugins', 'libjanus_echotest.so');
export const HTTP_TRANSPORT = join(JANUS_LIB_DIR, 'transports', 'libjanus_http.so');

export interface JanusConfigOptions {
  /** The REST API's port on 127.0.0.1. */
  httpPort: number;
  /** Janus's log level, 0–7. Default 4 (info: one line per session event). */
  debugLevel?: number;
  /** Janus drops a session after this long without a request (seconds). Default 60. */
  sessionTimeoutS?: number;
}

export interface JanusConfig {
  dir: string;
  /** `janus` arguments that use this configuration. */
  args: string[];
  remove(): Promise<void>;
}

export async function writeJanusConfig(options: JanusConfigOptions): Promise<JanusConfig> {
  const dir = await mkdtemp(join(tmpdir(), 'webrtc-echo-janus-'));
  const folder = (name: string) => join(dir, name);
  for (const name of ['conf', 'plugins', 'transports', 'events', 'loggers']) await mkdir(folder(name));
  await symlink(ECHOTEST_PLUGIN, join(folder('plugins'), 'libjanus_echotest.so'));
  await symlink(HTTP_TRANSPORT, join(folder('transports'), 'libjanus_http.so'));

  const janus = `general: {
  configs_folder = "${folder('conf')}"
  plugins_folder = "${folder('plugins')}"
  transports_folder = "${folder('transports')}"
  events_folder = "${folder('events')}"
  loggers_folder = "${folder('loggers')}"
  debug_level = ${options.debugLevel ?? 4}
  debug_colors = false
  session_timeout = ${options.sessionTimeoutS ?? 60}
  admin_secret = "${randomUUID()}"
}
certificates: {
}
media: {
  ipv6 = false
}
nat: {
  nice_debug = false
  full_trickle = false
  # No connectivity checks as keepalives: Janus 1.1 itself warns that libnice after 0.1.18
  # (Debian has 0.1.21) then breaks every connection after 50 s.
  ice_keepalive_conncheck = false
  ice_ignore_list = "vmnet"
}
plugins: {
}
transports: {
}
loggers: {
}
events: {
}
`;
  const http = `general: {
  json = "compact"
  base_path = "/janus"
  http = true
  port = ${options.httpPort}
  ip = "127.0.0.1"
  https = false
}
admin: {
  admin_http = false
  admin_https = false
}
cors: {
}
`;
  await writeFile(join(folder('conf'), 'janus.jcfg'), janus);
  await writeFile(join(folder('conf'), 'janus.transport.http.jcfg'), http);
  await writeFile(join(folder('conf'), 'janus.plugin.echotest.jcfg'), 'general: {\n}\n');
  return {
    dir,
    args: ['-C', join(folder('conf'), 'janus.jcfg'), '-F', folder('conf'), '-o'],
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
