/**
 * The lifetime of the process's one data plane (PlaneHost): kept while sessions hold it, kept
 * for the next session a while after the last (a new plane is a thread and a new certificate on
 * the offer's path), closed once idle. Real planes of the addon, with a short idle time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PlaneHost } from '../../src/engines/native/plane-host.js';
import type { NativeAddon } from '../../src/engines/native/plane.js';
import { nativeAddon, skipWithoutAddon } from '../native/plane-harness.js';

const skip = skipWithoutAddon();
const IDLE_MS = 100;

/** The addon, counting the planes it starts. */
function countingAddon(): { addon: NativeAddon; started: () => number } {
  const real = nativeAddon();
  let started = 0;
  return {
    addon: { ...real, createPlane: (onEvents, options) => (started++, real.createPlane(onEvents, options)) },
    started: () => started,
  };
}

test('a plane is kept while sessions hold it and for the next session within the idle time, then closed', { skip }, async (t) => {
  const { addon, started } = countingAddon();
  const host = new PlaneHost(addon, (err) => assert.fail(String(err)), {}, IDLE_MS);
  t.after(() => host.close());

  const first = host.acquire();
  const second = host.acquire();
  assert.equal(first, second, 'two sessions, one plane');
  host.release();
  host.release();
  await sleep(IDLE_MS / 4);
  assert.equal(host.plane, first, 'kept right after its last session');
  assert.equal(host.acquire(), first, 'the next session within the idle time takes it over');
  assert.equal(started(), 1, 'no second plane started');

  host.release();
  await sleep(IDLE_MS * 3);
  assert.equal(host.plane, undefined, 'closed once idle');
  assert.equal(first.openSocket({ address: '127.0.0.1', portMin: 0, portMax: 0 }), 'the plane is closed');

  const next = host.acquire();
  assert.notEqual(next, first, 'a session after that starts a new plane');
  assert.equal(started(), 2);
  host.release();
});

test('closing the host closes an idle plane at once, and no timer closes a later one early', { skip }, async (t) => {
  const { addon } = countingAddon();
  const host = new PlaneHost(addon, (err) => assert.fail(String(err)), {}, IDLE_MS);
  t.after(() => host.close());
  host.acquire();
  host.release();
  host.close();
  assert.equal(host.plane, undefined);
  const later = host.acquire();
  await sleep(IDLE_MS * 2);
  assert.equal(host.plane, later, 'held by its session: the earlier idle timer did not close it');
  host.release();
});

test('a kept plane whose sessions are gone takes a --udp-mux port of another server; while a session holds the mux socket it stays', { skip }, async (t) => {
  const { addon } = countingAddon();
  const host = new PlaneHost(addon, (err) => assert.fail(String(err)), {}, IDLE_MS);
  t.after(() => host.close());
  host.acquire();
  const first = host.openSocket({ muxPort: 41186 });
  assert.ok(typeof first !== 'string', String(first));
  assert.equal(first.local.port, 41186);
  host.release();

  // Within the idle time, the one session of another server with another mux port.
  host.acquire();
  const second = host.openSocket({ muxPort: 41187 });
  assert.ok(typeof second !== 'string', String(second));
  assert.equal(second.local.port, 41187);
  // A second session asking for the first port while one is on the mux socket: refused as before.
  host.acquire();
  assert.equal(host.openSocket({ muxPort: 41186 }), 'the mux socket is on port 41187, not 41186');
  host.release();
  host.release();
});
