/**
 * A child process for test/ipc/rpc.test.ts, forked with forkModule like our real workers:
 * answers `ping`, never answers `hang`, answers `slow` after `ms`, sends two `progress`
 * messages before answering `work`, and exits on `exit`. An event, unasked, once it starts.
 */
interface Request {
  id: number;
  type: 'ping' | 'hang' | 'slow' | 'work' | 'exit';
  ms?: number;
}

const send = (message: object) => process.send?.(message);

process.on('message', (request: Request) => {
  switch (request.type) {
    case 'ping':
      send({ id: request.id, type: 'pong' });
      return;
    case 'hang':
      return;
    case 'slow':
      setTimeout(() => send({ id: request.id, type: 'pong', late: true }), request.ms ?? 0);
      return;
    case 'work':
      send({ id: request.id, type: 'progress', done: 1 });
      send({ id: request.id, type: 'progress', done: 2 });
      send({ id: request.id, type: 'done' });
      return;
    case 'exit':
      process.exit(3);
  }
});

// Gone with the parent.
process.on('disconnect', () => process.exit(0));

send({ type: 'hello' });
