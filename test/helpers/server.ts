import type { TestContext } from 'node:test';
import type { EngineName } from '../../src/engines/engine.js';
import { silentLogger } from '../../src/log.js';
import { SERVER_DEFAULTS, startEchoServer, type EchoServer, type EchoServerOptions } from '../../src/signaling/server.js';

/**
 * The server engine of the tests that are about the server rather than one stack (bad input,
 * limits, drain, workers, release): libdatachannel, the default, unless WEBRTC_ECHO_TEST_ENGINE
 * names another (`WEBRTC_ECHO_TEST_ENGINE=native node --test test/signaling/bad-input.test.ts`).
 */
export const TEST_SERVER_ENGINE = (process.env.WEBRTC_ECHO_TEST_ENGINE || 'libdatachannel') as EngineName;

/**
 * A real echo server on 127.0.0.1 and a free port, closed when the test ends. Tests post many
 * offers from one address, so the per-address limits are off unless a test sets them.
 */
export async function startTestServer(
  t: TestContext | undefined,
  engine: EngineName,
  overrides: Partial<EchoServerOptions> = {},
): Promise<EchoServer> {
  const server = await startEchoServer({
    ...SERVER_DEFAULTS,
    host: '127.0.0.1',
    port: 0,
    engine,
    log: silentLogger,
    offersPerSecond: 0,
    maxUnconnectedPerAddress: 1_000_000,
    ...overrides,
  });
  t?.after(() => server.close());
  return server;
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
