/**
 * The data-plane thread is joined when its environment goes, not only by close(): a process
 * that calls process.exit() while its plane is busy exits cleanly, and a Worker whose plane is
 * busy can be terminated, over and over, without taking the process down. An open plane is a
 * handle: garbage collection does not close it, close() does.
 * Run: node --import tsx --test test/native/teardown.test.ts
 */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import dgram from 'node:dgram';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import type { NativePlane } from '../../src/engines/native/plane.js';
import { runCommand } from '../helpers/run-command.js';
import { nativeAddon, skipWithoutAddon } from './plane-harness.js';

const SKIP = skipWithoutAddon();

const FIXTURE = resolve(import.meta.dirname, 'fixtures', 'teardown.ts');

test('process.exit() while the plane is busy exits with the code given', { skip: SKIP }, async () => {
  for (let i = 0; i < 3; i++) {
    const result = await runCommand(process.execPath, ['--import', 'tsx', FIXTURE], process.env, 60_000);
    assert.equal(result.code, 0, `run ${i}: ${result.stdout}${result.stderr}`);
    assert.match(result.stdout, /events [1-9]/);
  }
});

test('a Worker with a busy plane can be terminated, again and again', { skip: SKIP }, async () => {
  for (let i = 0; i < 5; i++) {
    const worker = new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(FIXTURE)}); });`, { eval: true });
    const errors: unknown[] = [];
    worker.on('error', (err) => errors.push(err));
    await new Promise<void>((resolveFlowing, reject) => {
      const timer = setTimeout(() => reject(new Error('no events from the worker plane in 20 s')), 20_000);
      worker.once('message', () => {
        clearTimeout(timer);
        resolveFlowing();
      });
    });
    assert.equal(await worker.terminate(), 1);
    assert.deepEqual(errors, []);
  }
});

test('an open plane that nothing references keeps working through garbage collection', { skip: SKIP }, async (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  let events = 0;
  let port = 0;
  let close: () => void = () => {};
  (() => {
    const plane = nativeAddon().createPlane((batch) => (events += batch.length)) as NativePlane;
    const opened = plane.openSocket({ address: '127.0.0.1', portMin: 0, portMax: 0 });
    if (typeof opened === 'string') throw new Error(opened);
    port = opened.local.port;
    close = () => plane.close();
  })();
  t.after(() => close());
  const sender = dgram.createSocket('udp4');
  t.after(() => sender.close());
  const stun = Buffer.concat([Buffer.from('000100002112a442', 'hex'), Buffer.alloc(12, 7)]);
  for (let round = 0; round < 5; round++) {
    gc();
    const before = events;
    sender.send(stun, port, '127.0.0.1');
    const deadline = Date.now() + 5_000;
    while (events === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(events > before, `round ${round}: the event came after gc()`);
  }
});

test('a throwing event handler reaches uncaughtException, and later batches still come', { skip: SKIP }, async () => {
  const result = await runCommand(process.execPath, ['--import', 'tsx', resolve(import.meta.dirname, 'fixtures', 'throwing-handler.ts')], process.env, 60_000);
  assert.equal(result.code, 0, result.stderr);
  const [, batches, caught] = /batches (\d+) caught (\d+)/.exec(result.stdout) ?? [];
  assert.equal(caught, '1');
  assert.ok(Number(batches) > 5, result.stdout);
});
