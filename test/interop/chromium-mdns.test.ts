/**
 * Chromium without camera permission hides its host candidates behind mDNS `.local` names;
 * our server must resolve them to connect (test 1, data channel only). mDNS is multicast, so
 * this runs only inside two network namespaces of its own (see netns.ts), never on the
 * machine's interfaces. Skipped, with the reason, when not root or without `ip netns`.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ENGINE_NAMES } from '../../src/engines/registry.js';
import { CHROMIUM_PATH } from '../../src/interop/chromium/run-chromium.js';
import { startProcess } from '../../src/interop/process.js';
import { CLI, ROOT } from '../helpers/cli.js';
import { skipUnlessCi } from '../helpers/timeout.js';
import { createNamespacePair, namespacesUnavailable, SERVER_ADDRESS, type NamespacePair } from './netns.js';

const CHROMIUM_CLIENT = `${ROOT}dist/interop/chromium/main.js`;
const unavailable = (await namespacesUnavailable()) ?? (existsSync(CHROMIUM_PATH) ? undefined : `${CHROMIUM_PATH} is missing`);

describe('Chromium mDNS host candidates (in network namespaces)', { skip: skipUnlessCi(unavailable), timeout: 180_000 }, () => {
  let namespaces: NamespacePair;
  before(async () => {
    namespaces = await createNamespacePair();
  });
  after(async () => {
    await namespaces?.remove();
  });

  for (const [index, engine] of ENGINE_NAMES.entries()) {
    test(`the ${engine} server resolves Chromium's .local candidates and echoes on the data channel`, { timeout: 60_000 }, async () => {
      const port = 8080 + index;
      const server = startProcess(
        namespaces.exec(namespaces.server)[0]!,
        [...namespaces.exec(namespaces.server).slice(1), process.execPath, CLI, 'serve', '--host', SERVER_ADDRESS, '--port', String(port), '--engine', engine, '--log-level', 'debug'],
        { cwd: ROOT },
      );
      try {
        await server.waitFor(/"event":"listening"/, 20_000);
        const client = startProcess(
          'ip',
          ['netns', 'exec', namespaces.browser, process.execPath, CHROMIUM_CLIENT, '-s', `http://${SERVER_ADDRESS}:${port}/offer`, '-t', '1', '--mdns', '--json', '--timeout', '20'],
          { cwd: ROOT },
        );
        const killer = setTimeout(() => void client.stop(), 40_000);
        await client.exited;
        clearTimeout(killer);
        await client.stop();
        const line = client.stdout().trim().split('\n').at(-1) ?? '';
        const result = JSON.parse(line || '{}') as { ok?: boolean; reason?: string; message?: string; candidates?: { local: string[] } };
        const logs = `client:\n${client.log()}\nserver:\n${server.log()}`;
        const local = result.candidates?.local ?? [];
        assert.ok(local.length > 0, `Chromium offered candidates\n${logs}`);
        assert.ok(
          local.every((c) => /\s\S+\.local\s/.test(c)),
          `every host candidate is an mDNS name (else this test would not test mDNS): ${local.join(' / ')}`,
        );
        assert.equal(result.ok, true, `the ${engine} server connected to .local candidates: ${result.reason}: ${result.message}\n${logs}`);
      } finally {
        await server.stop();
      }
    });
  }
});
