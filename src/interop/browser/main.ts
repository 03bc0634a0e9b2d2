#!/usr/bin/env node
/**
 * The browser clients (Chromium, Firefox) under the Echo Test container contract:
 *   node dist/interop/browser/main.js [--browser chromium|firefox] URL
 *   node dist/interop/browser/main.js --browser firefox -s URL -t 0|1 [--timeout S] [--no-audio] [--mdns] [--json]
 *   node dist/interop/browser/main.js --browser firefox "-s URL -t 1"
 * Exit 0 when the test passes, 1 otherwise (with `error: <reason>: <detail>` on stderr).
 */
import { Command, Option } from 'commander';
import { collect, parseIceServer, parseSeconds } from '../../commands/parse.js';
import type { IceServer } from '../../net/ice-server.js';
import { BROWSER_NAMES, type BrowserName } from './driver.js';
import { runBrowserClient } from './run-browser.js';

// The containers pass every flag in one argument (after --browser, from client.sh).
const args = process.argv.slice(2).flatMap((arg) => (/^\s*-/.test(arg) && /\s/.test(arg.trim()) ? arg.trim().split(/\s+/) : [arg]));

const program = new Command('browser-client')
  .description('the Echo Test client in Debian Chromium (playwright-core) or Firefox ESR (puppeteer-core, WebDriver BiDi)')
  .argument('[url]', "the server's /offer URL")
  .addOption(new Option('--browser <name>', 'the browser').choices(BROWSER_NAMES).default('chromium'))
  .option('-s, --server <url>', "the server's /offer URL")
  .addOption(new Option('-t, --test <type>', '0: peer connection (echoed video must decode), 1: data channel echo (any other: exit 127, unsupported)').default('0'))
  .option('--timeout <seconds>', 'give up after this long', parseSeconds, 20_000)
  .option('--no-audio', 'test 0: send video only')
  .option('--mdns', 'let the browser hide host candidates behind mDNS .local names (multicast: only in a network namespace of your own)', false)
  .option('--ice-server <url>', 'STUN/TURN server: stun:HOST:PORT or turn://USER:PASS@HOST:PORT?transport=udp|tcp (repeatable)', collect(parseIceServer))
  .option('--relay-only', 'relay candidates only (iceTransportPolicy relay)', false)
  .option('--json', 'print the result as one JSON object on stdout', false)
  .action(async (positional: string | undefined, opts: { browser: BrowserName; server?: string; test: string; timeout: number; audio: boolean; mdns: boolean; iceServer?: IceServer[]; relayOnly: boolean; json: boolean }) => {
    if (opts.test !== '0' && opts.test !== '1') {
      // 127: this client cannot run that test (the interop runners' convention), which is not a failure.
      process.stderr.write(`error: unsupported: test type ${JSON.stringify(opts.test)} is not one this client runs (0, 1)\n`);
      process.exitCode = 127;
      return;
    }
    let url = opts.server ?? positional;
    if (!url) throw new Error('need the server URL (URL or -s URL)');
    const parsed = new URL(/^[a-z]+:\/\//i.test(url) ? url : `http://${url}`);
    if (parsed.pathname === '/') parsed.pathname = '/offer';
    url = parsed.toString();
    const result = await runBrowserClient({
      browser: opts.browser,
      url,
      test: Number(opts.test) as 0 | 1,
      timeoutMs: opts.timeout,
      audio: opts.audio,
      mdns: opts.mdns,
      iceServers: opts.iceServer,
      relayOnly: opts.relayOnly,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    process.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : `${result.ok ? 'PASS' : 'FAIL'} test ${result.test} against ${url} (${opts.browser} ${result.version ?? '?'})\n`);
    if (!result.ok) process.stderr.write(`error: ${result.reason}: ${result.message}\n`);
    process.exitCode = result.ok ? 0 : 1;
  });

program.parseAsync(['node', 'browser-client', ...args]).then(
  () => setImmediate(() => process.exit(process.exitCode ?? 0)).unref(),
  (err: unknown) => {
    process.stderr.write(`error: bad-arguments: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
