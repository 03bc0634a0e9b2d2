/**
 * What the matrix runs beside a cell's server, on the server's host (inside its network
 * namespace when the cell has one, where the matrix's own process cannot open sockets):
 *
 *   cell-helper.js proxy HOST TARGET-URL   the recording signaling proxy on HOST, a free port;
 *                                          prints {"event":"listening","port":N}, then one
 *                                          {"event":"exchange",...} line per request
 *   cell-helper.js wait-tcp HOST PORT MS   exits 0 once HOST:PORT accepts TCP, 1 after MS
 */
import { waitForTcp } from '../tcp-ready.js';
import { createSignalingProxy } from './signaling-proxy.js';

const [mode, ...args] = process.argv.slice(2);
const print = (event: object) => process.stdout.write(`${JSON.stringify(event)}\n`);

if (mode === 'proxy' && args.length === 2) {
  const [host, target] = args as [string, string];
  const server = createSignalingProxy(new URL(target), (exchange) => print({ event: 'exchange', ...exchange }));
  server.on('error', (err) => {
    process.stderr.write(`proxy: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(0, host, () => {
    const address = server.address();
    print({ event: 'listening', port: typeof address === 'object' && address ? address.port : 0 });
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} else if (mode === 'wait-tcp' && args.length === 3) {
  const [host, port, ms] = args as [string, string, string];
  waitForTcp(host, Number(port), Number(ms)).then(
    (took) => {
      print({ event: 'accepts', ms: took });
      process.exit(0);
    },
    (err: Error) => {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    },
  );
} else {
  process.stderr.write('usage: cell-helper.js proxy HOST TARGET-URL | wait-tcp HOST PORT MS\n');
  process.exit(2);
}
