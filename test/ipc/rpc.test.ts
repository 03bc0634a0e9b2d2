/**
 * The one request/reply channel of our workers (src/ipc/rpc.ts), against a real forked child
 * process: a request the worker never answers rejects at its deadline instead of hanging its
 * caller, a late reply is dropped, a worker that exits fails what waits on it, progress is
 * progress. The same channel carries the session workers' and the bench workers' requests;
 * test/echo/workers.test.ts stops a real session worker and reads /metrics through it.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { forkModule } from '../../src/ipc/fork.js';
import { ipcLink, RpcChannel, RpcClosed, RpcTimeout } from '../../src/ipc/rpc.js';
import { withTimeout } from '../helpers/timeout.js';

interface Reply {
  id: number;
  type: string;
  late?: boolean;
}

async function startWorker(t: TestContext): Promise<{ child: ChildProcess; rpc: RpcChannel<{ type: string }> }> {
  const child = forkModule(new URL('./answering-worker', import.meta.url));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
    await exited;
  });
  const rpc = new RpcChannel<{ type: string }>(`test worker (pid ${child.pid})`, ipcLink(child));
  child.once('exit', (code) => rpc.close(`exited (${code})`));
  await withTimeout(new Promise<void>((resolve) => rpc.onEvent((event) => event.type === 'hello' && resolve())), 20_000, 'the worker started');
  return { child, rpc };
}

test('a request the worker never answers rejects with RpcTimeout at its deadline, and the channel goes on', async (t) => {
  const { rpc } = await startWorker(t);
  const hung = rpc.request<Reply>({ type: 'hang' }, { timeoutMs: 300 });
  await assert.rejects(withTimeout(hung, 5_000, 'the deadline'), (err: unknown) => {
    assert.ok(err instanceof RpcTimeout);
    assert.match(err.message, /^test worker \(pid \d+\) did not answer hang within 300 ms$/);
    return true;
  });
  assert.equal(rpc.pending, 0, 'nothing left waiting');
  assert.equal((await rpc.request<Reply>({ type: 'ping' }, { timeoutMs: 5_000 })).type, 'pong');
});

test('a reply after its deadline is dropped, not handed to a later request', async (t) => {
  const { rpc } = await startWorker(t);
  await assert.rejects(rpc.request<Reply>({ type: 'slow', ms: 400 }, { timeoutMs: 100 }), RpcTimeout);
  // Waits past the late reply: the ping gets its own answer.
  const reply = await rpc.request<Reply>({ type: 'slow', ms: 600 }, { timeoutMs: 5_000 });
  assert.equal(reply.late, true);
  assert.equal((await rpc.request<Reply>({ type: 'ping' }, { timeoutMs: 5_000 })).late, undefined);
});

test('progress messages go to onProgress; the reply after them resolves the request', async (t) => {
  const { rpc } = await startWorker(t);
  const progress: unknown[] = [];
  const reply = await rpc.request<Reply>({ type: 'work' }, { timeoutMs: 5_000, onProgress: (m) => progress.push(m.done) });
  assert.equal(reply.type, 'done');
  assert.deepEqual(progress, [1, 2]);
});

test('a worker that exits fails the requests waiting on it at once, and every later one', async (t) => {
  const { rpc } = await startWorker(t);
  const waiting = rpc.request<Reply>({ type: 'hang' }, { timeoutMs: 60_000 });
  void rpc.request<Reply>({ type: 'exit' }, { timeoutMs: 60_000 }).catch(() => {});
  await assert.rejects(withTimeout(waiting, 10_000, 'the exit is noticed'), (err: unknown) => err instanceof RpcClosed && /exited \(3\)/.test(err.message));
  await assert.rejects(rpc.request<Reply>({ type: 'ping' }, { timeoutMs: 60_000 }), RpcClosed);
});
