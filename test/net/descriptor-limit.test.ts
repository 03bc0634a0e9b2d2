/**
 * `serve` warns at start when --max-sessions can need more file descriptors than the process may
 * open (libwebrtc's libevent aborts the server when it runs out).
 *
 * Run: node --import tsx --test test/net/descriptor-limit.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadEngine } from '../../src/engines/registry.js';
import { descriptorShortfall, openFileLimit } from '../../src/net/descriptor-limit.js';
import { capturingLogger } from '../helpers/capture-log.js';
import { startTestServer } from '../helpers/server.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            20000                20000                files
Max locked memory         8388608              8388608              bytes
`;

test('the soft open-files limit is read from /proc/self/limits, and an unlimited or unreadable one is unknown', () => {
  assert.equal(openFileLimit(LIMITS), 20_000);
  assert.equal(openFileLimit(LIMITS.replace('20000                20000', 'unlimited            unlimited')), undefined);
  assert.equal(openFileLimit('nothing here'), undefined);
  if (process.platform === 'linux') assert.ok((openFileLimit() ?? 0) > 0, 'this process has a limit');
});

test('the shortfall is per process: sessions spread over the workers', () => {
  const budget = { maxSessions: 50, fdsPerSession: 271, threadsPerSession: 31 };
  assert.equal(descriptorShortfall(budget, 50, 1, 20_000), undefined, 'the default budget fits');
  assert.deepEqual(descriptorShortfall(budget, 5000, 1, 20_000), { sessionsPerProcess: 5000, worstCaseFds: 1_355_000, limit: 20_000, sessionsThatFit: 73 });
  assert.equal(descriptorShortfall(budget, 5000, 2, 20_000)?.sessionsPerProcess, 2500);
  assert.equal(descriptorShortfall(budget, 5000, 1, undefined), undefined, 'an unknown limit warns of nothing');
});

test('a real server warns at start when --max-sessions is past what its descriptors allow, and not just below', { skip: openFileLimit() === undefined && 'no /proc/self/limits here' }, async (t) => {
  const engine = await loadEngine('libwebrtc');
  const fit = Math.floor(openFileLimit()! / engine.budget.fdsPerSession);
  const tooMany = fit + 1;
  const over = capturingLogger();
  await startTestServer(t, 'libwebrtc', { log: over.log, maxSessions: tooMany });
  const warning = over.lines.find((l) => l.event === 'descriptor-limit');
  assert.ok(warning, JSON.stringify(over.lines));
  assert.equal(warning.engine, 'libwebrtc');
  assert.match(String(warning.msg), /raise ulimit -n or keep --max-sessions at \d+ or less/);

  if (fit === 0) return t.diagnostic('not one worst-case libwebrtc session fits this limit: the quiet half is skipped');
  const within = capturingLogger();
  await startTestServer(t, 'libwebrtc', { log: within.log, maxSessions: fit });
  assert.equal(within.lines.find((l) => l.event === 'descriptor-limit'), undefined, JSON.stringify(within.lines));
});
