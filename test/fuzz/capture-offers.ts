/**
 * Captures real offers into testdata/offers/<client>.json, once, for the fuzz tests: each
 * client (Chromium, pion, aiortc, GStreamer and our own engines) posts its offer to a small
 * HTTP server on loopback that keeps the body and answers 503, so the client gives up at once.
 *
 *   node --import tsx test/fuzz/capture-offers.ts [client...]
 *
 * Not a test (npm test runs test/<dir>/*.test.ts only): the offers are data, checked in.
 */
import { createServer } from 'node:http';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { CLIENT_ENGINE_NAMES } from '../../src/engines/registry.js';
import { ROOT } from '../helpers/cli.js';

interface Capture {
  name: string;
  /** The command, with {url} for the server's /offer. */
  command: string[];
}

const CLIENTS: Capture[] = [
  { name: 'chromium-media', command: [process.execPath, 'dist/interop/browser/main.js', '--browser', 'chromium', '-s', '{url}', '-t', '0', '--timeout', '10', '--json'] },
  { name: 'chromium-datachannel', command: [process.execPath, 'dist/interop/browser/main.js', '--browser', 'chromium', '-s', '{url}', '-t', '1', '--timeout', '10', '--json'] },
  { name: 'pion-media', command: ['interop/peers/pion/bin/pion-client', '-s', '{url}', '-t', '0', '--timeout', '5'] },
  { name: 'pion-datachannel', command: ['interop/peers/pion/bin/pion-client', '-s', '{url}', '-t', '1', '--timeout', '5'] },
  { name: 'aiortc-media', command: ['interop/peers/aiortc/aiortc-client', '-s', '{url}', '-t', '0', '--timeout', '5'] },
  { name: 'aiortc-datachannel', command: ['interop/peers/aiortc/aiortc-client', '-s', '{url}', '-t', '1', '--timeout', '5'] },
  { name: 'gstreamer-media', command: ['/usr/bin/python3', 'interop/peers/gstreamer/client.py', '-s', '{url}', '-t', '0', '--timeout', '5'] },
  { name: 'gstreamer-datachannel', command: ['/usr/bin/python3', 'interop/peers/gstreamer/client.py', '-s', '{url}', '-t', '1', '--timeout', '5'] },
  // Every client engine of the registry, so a new one gets its offers captured too.
  ...CLIENT_ENGINE_NAMES.flatMap((engine) => [
    { name: `${engine}-media`, command: [process.execPath, 'dist/cli.js', 'client', '-s', '{url}', '-t', '0', '--media', '--engine', engine, '--timeout', '5'] },
    { name: `${engine}-datachannel`, command: [process.execPath, 'dist/cli.js', 'client', '-s', '{url}', '-t', '1', '--engine', engine, '--timeout', '5'] },
  ]),
];

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  let lastBody: string | undefined;
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      if (req.method === 'POST') lastBody = body;
      res.writeHead(req.method === 'OPTIONS' ? 204 : 503, {
        'Content-Type': 'application/json',
        'Access-Control-Allow-Origin': '*',
        'Access-Control-Allow-Headers': 'content-type',
      });
      res.end(req.method === 'OPTIONS' ? undefined : JSON.stringify({ error: 'CAPTURED', message: 'offer captured' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/offer`;
  for (const client of CLIENTS) {
    if (wanted.length > 0 && !wanted.includes(client.name)) continue;
    lastBody = undefined;
    const [command, ...args] = client.command.map((part) => part.replace('{url}', url));
    await new Promise<void>((resolve) => {
      const child = spawn(command!, args, { cwd: ROOT, stdio: 'ignore' });
      child.on('error', () => resolve());
      child.on('close', () => resolve());
    });
    if (!lastBody) {
      console.log(`${client.name}: no offer captured`);
      continue;
    }
    const offer = JSON.parse(lastBody) as { type: string; sdp: string };
    writeFileSync(`${ROOT}testdata/offers/${client.name}.json`, `${JSON.stringify({ type: offer.type, sdp: offer.sdp }, null, 2)}\n`);
    console.log(`${client.name}: ${offer.sdp.split('\n').length} lines, ${(offer.sdp.match(/^m=/gm) ?? []).length} media sections, ${(offer.sdp.match(/^a=candidate:/gm) ?? []).length} candidates`);
  }
  server.close();
}

await main();
