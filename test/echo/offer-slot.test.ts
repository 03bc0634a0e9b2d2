/**
 * The work done on an offer before the stack sees it (mDNS look-ups, the candidate policy)
 * holds a session slot: it counts against --max-sessions and the per-address limit, and is
 * refused once shutdown has begun. A real registry and engine; `prepare` stands in for a slow
 * mDNS look-up between reserve() and answer(), as the route runs them (multicast stays off
 * this machine's interfaces; test/interop/chromium-mdns resolves real names inside network
 * namespaces).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadEngine } from '../../src/engines/registry.js';
import { SessionRegistry } from '../../src/echo/sessions.js';
import { EchoError } from '../../src/errors/echo-error.js';
import { silentLogger } from '../../src/log.js';
import { parseOffer } from '../../src/sdp/offer.js';
import type { ParsedOffer } from '../../src/sdp/parsed-offer.js';
import { shapedOffer } from '../helpers/offer-shapes.js';
import { TEST_SERVER_ENGINE } from '../helpers/server.js';

const OPTIONS = {
  gatherTimeoutMs: 2_000, connectTimeoutMs: 5_000, maxLifetimeMs: 60_000, disconnectGraceMs: 5_000, idleTimeoutMs: 10_000, maxDataChannels: 16, maxViewersPerPublisher: 16, network: {}, publicIps: [],
};

type Prepare = (offer: ParsedOffer) => Promise<ParsedOffer>;

function gate(): { open: () => void; prepare: Prepare; entered: Promise<void> } {
  let open!: () => void;
  let entered!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const enteredPromise = new Promise<void>((resolve) => (entered = resolve));
  return {
    open,
    entered: enteredPromise,
    prepare: async (offer) => {
      entered();
      await opened;
      return offer;
    },
  };
}

/** One offer the way POST /offer takes it: a slot, the preparation, the answer. */
async function create(registry: SessionRegistry, client: string, prepare: Prepare = async (offer) => offer) {
  const reservation = registry.reserve(client);
  try {
    return await reservation.answer(await prepare(parseOffer(shapedOffer({ audio: 1 }).sdp)));
  } finally {
    reservation.release();
  }
}

const codeOf = async (promise: Promise<unknown>) => promise.then(() => undefined, (err: unknown) => (err instanceof EchoError ? err.code : String(err)));

test('an offer whose mDNS step is still running counts against --max-sessions and the per-address limit', async () => {
  const registry = new SessionRegistry(await loadEngine(TEST_SERVER_ENGINE), { ...OPTIONS, maxSessions: 2, maxUnconnectedPerAddress: 1 }, silentLogger);
  const slow = gate();
  const first = create(registry, '127.0.0.1', slow.prepare);
  await slow.entered;
  assert.equal(await codeOf(create(registry, '127.0.0.1')), 'ECHO_ERR_TOO_MANY_UNCONNECTED');
  const second = await create(registry, '127.0.0.2');
  assert.equal(await codeOf(create(registry, '127.0.0.3')), 'ECHO_ERR_TOO_MANY_SESSIONS', 'one pending + one live = 2');
  slow.open();
  const session = await first;
  assert.equal(registry.size, 2);
  await registry.closeAll();
  assert.equal(registry.size, 0);
  assert.ok(session.isClosed && second.isClosed);
});

test('an offer whose mDNS step is running when shutdown begins is refused, and leaves nothing behind', async () => {
  const registry = new SessionRegistry(await loadEngine(TEST_SERVER_ENGINE), { ...OPTIONS, maxSessions: 10, maxUnconnectedPerAddress: 10 }, silentLogger);
  const slow = gate();
  const pending = codeOf(create(registry, '127.0.0.1', slow.prepare));
  await slow.entered;
  const closing = registry.closeAll();
  assert.equal(await codeOf(create(registry, '127.0.0.2')), 'ECHO_ERR_SHUTTING_DOWN', 'no new look-up starts');
  slow.open();
  assert.equal(await pending, 'ECHO_ERR_SHUTTING_DOWN');
  await closing;
  assert.equal(registry.size, 0);
});
