/**
 * The Dockerfile, without a Docker engine (there is none here). First what can be read from
 * it: the suite's container contract (server by default on 8080, /client.sh, non-root, a health
 * check), its Node line, and its build steps (the addon patches, native builds against the
 * image's Node, no toolchain in the image). Then its image laid out by its own steps, every
 * stage with its flags (test/helpers/dockerfile.ts: each stage's COPY and RUN in a chroot over
 * this machine's Debian /usr, with the registry's Node of the image's tag), started as the image
 * starts: as uid 1000, on a read-only root, in a network namespace of its own so that it can have
 * port 8080. Its default command runs the native engine, whose addon the build stage compiled
 * against the image's Node (no fallback to libdatachannel): /client.sh, pion and a drain against
 * it. Beside it `serve --engine libdatachannel`: a pion 3.1 client's data channel and its set-up
 * time (the two addon patches, which the image once lost), and a refusal to start without the
 * patched addon.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { median } from '../../src/bench/stats.js';
import { ADDON_PATCHES, checkAddonPatches } from '../../src/engines/libdatachannel/addon-patches.js';
import { STUN_PACING_TIME } from '../../src/engines/libdatachannel/triggered-check.js';
import { ROOT } from '../helpers/cli.js';
import { runCommand } from '../helpers/run-command.js';
import {
  chrootRun,
  chrootSpawn,
  layOutImage,
  nativeAddons,
  neededLibraries,
  parseDockerfile,
  resolveUser,
  type LaidOutImage,
} from '../helpers/dockerfile.js';
import { skipUnlessCi, withTimeout } from '../helpers/timeout.js';

const run = promisify(execFile);
const dockerfile = parseDockerfile(readFileSync(`${ROOT}Dockerfile`, 'utf8'));
const final = dockerfile.final.instructions;
const one = (keyword: string) => final.filter((i) => i.keyword === keyword);
const stage = (name: string) => dockerfile.stages.find((s) => s.name === name)!;
const runs = (name: string) => stage(name).instructions.filter((i) => i.keyword === 'RUN').map((i) => i.rest);

test('the Dockerfile meets the container contract: serve on 8080 by default, /client.sh, a non-root user, a health check on /healthz', () => {
  assert.deepEqual(dockerfile.stages.map((s) => s.name), ['build', 'deps', '2'], 'build, production dependencies, the image');

  assert.deepEqual(one('EXPOSE').map((i) => i.rest), ['8080']);
  const users = one('USER');
  assert.equal(users.length, 1);
  assert.notEqual(resolveUser(users[0]!.rest).uid, 0, 'not root');
  const entry = one('ENTRYPOINT')[0]!;
  const cmd = one('CMD')[0]!;
  assert.ok(users[0]!.line < entry.line && users[0]!.line < cmd.line, 'the user is set before the entry point');
  assert.deepEqual([...entry.json!, ...cmd.json!], ['node', '/app/dist/cli.js', 'serve'], 'the default command is the server, on its default port');
  assert.ok(!cmd.json!.some((arg) => arg.startsWith('--port')));

  const health = one('HEALTHCHECK')[0]!;
  assert.deepEqual(JSON.parse(health.rest.replace(/^CMD\s+/, '')), ['node', '/app/deploy/healthcheck.mjs']);
  const script = readFileSync(`${ROOT}deploy/healthcheck.mjs`, 'utf8');
  assert.match(script, /http:\/\/127\.0\.0\.1:8080\/healthz/);
  assert.ok(one('COPY').some((i) => i.rest === 'deploy/healthcheck.mjs ./deploy/'), 'the health check script is in the image');

  assert.ok(one('RUN').some((i) => /ln -s \/app\/client\.sh \/client\.sh/.test(i.rest)), '/client.sh is the client entry');
  assert.equal(one('STOPSIGNAL')[0]?.rest, 'SIGTERM');
  // The image copies no build tool and nothing built on the machine that builds it.
  assert.ok(!final.some((i) => i.keyword === 'RUN' && /npm|apt-get/.test(i.rest)), 'no install step in the final stage');
  const ignored = readFileSync(`${ROOT}.dockerignore`, 'utf8').split('\n');
  for (const path of ['node_modules', 'dist', '.git']) assert.ok(ignored.includes(path), `.dockerignore leaves out ${path}`);
});

test("the image's Node is a line CI runs the core suite on and package.json allows; builds happen in full images, the image is slim", () => {
  const major = dockerfile.args.NODE_VERSION;
  assert.match(major ?? '', /^\d+$/, 'ARG NODE_VERSION names a Node line');
  assert.equal(dockerfile.final.from, `node:${major}-bookworm-slim`, 'glibc (the native addons are -gnu builds), slim: no toolchain in the image');
  for (const name of ['build', 'deps']) assert.equal(stage(name).from, `node:${major}-bookworm`, `${name}: the full image (python3, make, g++)`);
  const ci = readFileSync(`${ROOT}.ci/run`, 'utf8');
  assert.match(ci, new RegExp(`node_lines=\\([^)]*\\b${major}\\b`), `.ci/run runs the core suite on Node ${major}`);
  const engines = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { engines: { node: string } }).engines.node;
  assert.ok(Number(/>=\s*(\d+)/.exec(engines)?.[1]) <= Number(major), `engines ${engines} allows Node ${major}`);
  // node-gyp (native builds) compiles against the stage's own Node headers.
  assert.ok(stage('build').instructions.some((i) => i.keyword === 'ENV' && i.rest === 'npm_config_nodedir=/usr/local'));
});

test('the addon patches are a build step of the image: written in the deps stage after its npm ci, never at run time', () => {
  const deps = runs('deps');
  const install = deps.findIndex((r) => /npm ci --omit=dev --ignore-scripts/.test(r));
  const patch = deps.findIndex((r) => r === 'node scripts/patch-addon.mjs');
  assert.ok(install >= 0 && patch > install, `deps stage RUNs: ${deps.join(' | ')}`);
  // What the deps stage produces is what the image copies: node_modules with the patched copy in it.
  assert.ok(final.some((i) => i.keyword === 'COPY' && i.flags.from?.[0] === 'deps' && i.rest === '/app/node_modules ./node_modules'));
  // The native engine's addon is built in the build stage, after the TypeScript, against that
  // stage's Node (not --optional: a lost build fails the image build), and only the addon goes into the image.
  const build = runs('build');
  const native = build.indexOf('node scripts/build-native.mjs');
  assert.ok(native > build.indexOf('npm run build') && build.indexOf('npm run build') >= 0, `build stage RUNs: ${build.join(' | ')}`);
  assert.ok(final.some((i) => i.keyword === 'COPY' && i.flags.from?.[0] === 'build' && i.rest === '/app/native/build/Release/webrtc_echo_native.node ./native/build/Release/'));
  const scripts = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts;
  assert.match(scripts.prepare!, /node scripts\/patch-addon\.mjs/, 'npm ci runs the same step');
});

const notRoot = skipUnlessCi(process.getuid?.() === 0 ? undefined : 'laying out the image needs root (chroot, mount and network namespaces)');
const PION_CLIENT = join(ROOT, 'interop/peers/pion/bin/pion-client');
const pionMissing = existsSync(PION_CLIENT) ? undefined : 'pion peers not built (interop/setup/pion.sh)';

test(
  "the image laid out by the Dockerfile's own steps serves on 8080 as uid 1000 on its own Node with the native engine it built (no fallback), passes /client.sh tests 0 and 1 and pion, drains on SIGTERM; its libdatachannel engine runs the patched addon (pion's data channel opens, its set-up is fast) and refuses to start without it",
  { skip: notRoot, timeout: 900_000 },
  async (t) => {
    if (pionMissing) skipUnlessCi(pionMissing);
    const work = mkdtempSync(join(tmpdir(), 'webrtc-echo-image-'));
    t.after(() => rmSync(work, { recursive: true, force: true }));
    const started = Date.now();
    const image = await layOutImage(dockerfile, {
      context: ROOT,
      workDir: work,
      onStep: (stage, i) => t.diagnostic(`[${stage}] ${i.keyword} ${i.args}`),
    });
    t.diagnostic(`laid out in ${Math.round((Date.now() - started) / 1000)} s, every stage run, base image Node ${image.nodeVersion}`);
    checkLayout(t, image);
    await checkNativeLibraries(image);
    // The patched copy the deps stage wrote, as the server will check it: every patch in place.
    const ndc = join(image.root, 'app/node_modules/node-datachannel');
    const patched = checkAddonPatches(ndc);
    assert.deepEqual(patched.patches.map((p) => [p.name, p.applied]), ADDON_PATCHES.map((p) => [p.name, true]), JSON.stringify(patched.patches));

    // The image's network: a namespace of its own (port 8080 is its own), loopback plus a veth
    // pair with both ends inside (an address that is not loopback: libjuice leaves loopback out
    // of its candidates; this kernel has no dummy interfaces).
    const netns = `we-img-${process.pid}`;
    await run('ip', ['netns', 'add', netns]);
    t.after(() => run('ip', ['netns', 'del', netns]).catch(() => undefined));
    const ip = (...args: string[]) => run('ip', ['-n', netns, ...args]);
    await ip('link', 'set', 'lo', 'up');
    await ip('link', 'add', 'img0', 'type', 'veth', 'peer', 'name', 'img1');
    await ip('addr', 'add', '10.98.0.1/24', 'dev', 'img0');
    await ip('link', 'set', 'img0', 'up');
    await ip('link', 'set', 'img1', 'up');

    const env = { ...image.env, HOME: '/home/node' };
    // Read-only as deploy/k8s runs it (readOnlyRootFilesystem): the server writes nothing.
    const inImage = { env, workdir: image.workdir, user: image.user, netns, readOnlyRoot: true, binds: image.binds };
    const version = await chrootRun(image.root, ['node', '-p', 'process.version'], inImage, 15_000);
    assert.equal(version.stdout.trim(), image.nodeVersion, `the image's node is its base image's: ${version.output}`);
    assert.notEqual(image.nodeVersion, process.version, 'not the Node that runs this test');

    // Without the patched copy the server refuses the libdatachannel engine, saying what is missing.
    const copy = join(ndc, 'build/Release/node_datachannel.node');
    renameSync(copy, `${copy}.aside`);
    const refused = await chrootRun(image.root, [...image.entrypoint, ...image.cmd, '--engine', 'libdatachannel'], inImage, 30_000).finally(() => renameSync(`${copy}.aside`, copy));
    assert.equal(refused.code, 1, refused.output);
    for (const p of ADDON_PATCHES) assert.ok(refused.output.includes(p.name), `names ${p.name}: ${refused.output}`);
    assert.match(refused.output, /scripts\/patch-addon\.mjs/);

    /** A server of the image, as uid 1000 on its read-only root, once it listens (its logs as they come). */
    const serveInImage = async (args: string[], label: string) => {
      const proc = chrootSpawn(image.root, [...image.entrypoint, ...args], inImage);
      t.after(() => proc.kill('SIGKILL'));
      const logs: Record<string, unknown>[] = [];
      let raw = '';
      const listening = new Promise<Record<string, unknown>>((resolve) =>
        createInterface({ input: proc.stderr! }).on('line', (line) => {
          try {
            const entry = JSON.parse(line) as Record<string, unknown>;
            logs.push(entry);
            if (entry.event === 'listening') resolve(entry);
          } catch {
            raw += `${line}\n`;
          }
        }),
      );
      const exited = once(proc, 'exit').then(([code]) => code as number | null);
      const up = await withTimeout(Promise.race([listening, exited.then((code) => assert.fail(`${label} exited ${code}: ${raw}`))]), 30_000, `${label} listening`);
      assert.match(readFileSync(`/proc/${proc.pid}/status`, 'utf8'), /^Uid:\s+1000\s+1000\s+1000\s+1000$/m, `${label} runs as uid 1000 (node)`);
      return { proc, logs, up, exited };
    };
    const clientSh = (arg: string) => chrootRun(image.root, ['/client.sh', arg], inImage, 60_000);
    const passesClientSh = async (port: number, label: string) => {
      for (const arg of [`-s http://127.0.0.1:${port}/offer -t 1`, `-s http://127.0.0.1:${port}/offer -t 0 --media`]) {
        const result = await clientSh(arg);
        assert.equal(result.code, 0, `/client.sh "${arg}" against ${label}: ${result.output}`);
        assert.match(result.stdout, /^PASS test [01]/);
      }
    };
    const pion = (port: number, testType: string, timeout: string) =>
      runCommand('ip', ['netns', 'exec', netns, PION_CLIENT, '-s', `http://127.0.0.1:${port}/offer`, '-t', testType, '--timeout', timeout]);

    // `docker run IMAGE`: ENTRYPOINT + CMD, nothing added: the native engine, whose addon the build
    // stage compiled against the image's Node (no fallback to libdatachannel). Its ICE kept on
    // loopback: the clients below are on this machine, and its other addresses carry no test traffic.
    const server = await serveInImage([...image.cmd, '--ice-addresses', 'loopback'], 'the default command');
    const { logs, exited } = server;
    assert.equal(server.up.url, 'http://127.0.0.1:8080');
    assert.equal(server.up.engine, 'native', `the native engine, not the fallback: ${JSON.stringify(logs.find((l) => l.event === 'engine-fallback'))}`);
    assert.ok(!logs.some((l) => l.event === 'engine-fallback' || l.event === 'engine-default'), 'nothing said of engines');
    assert.match(readFileSync(`/proc/${server.proc.pid}/comm`, 'utf8').trim(), /^node(-MainThread)?$/, 'node (Node 24+ names its main thread node-MainThread)');

    const health = () => chrootRun(image.root, image.healthcheck!, inImage, 15_000);
    assert.equal((await health()).code, 0, 'healthy while serving');
    await passesClientSh(8080, 'the default command');
    if (!pionMissing) {
      const { code, stderr } = await pion(8080, '1', '10');
      assert.equal(code, 0, `pion against the default command: ${stderr}`);
    }
    const connected = logs.filter((l) => l.event === 'session-connected');
    assert.ok(connected.length >= 2 && connected.every((l) => l.engine === 'native' && typeof l.transport === 'object'), JSON.stringify(connected));
    // Its sessions run in worker processes (--workers: the number of cores): the server's or theirs.
    const serving = [server.proc.pid!, ...readFileSync(`/proc/${server.proc.pid}/task/${server.proc.pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number)];
    assert.ok(
      serving.some((pid) => /\/app\/native\/build\/Release\/webrtc_echo_native\.node/.test(readFileSync(`/proc/${pid}/maps`, 'utf8'))),
      'the addon the build stage made is loaded',
    );

    // libdatachannel beside it, as `serve --engine libdatachannel`: it runs the patched copy the
    // image carries, and it shows: a pion 3.1 client's data channel opens (SCTP zero checksum
    // off), and pion, which the server learns from its checks, connects within libjuice's 50 ms
    // (its triggered check at once).
    const ldc = await serveInImage(['serve', '--engine', 'libdatachannel', '--port', '8081', '--workers', '1', '--ice-addresses', 'loopback'], 'the libdatachannel server');
    assert.equal(ldc.up.engine, 'libdatachannel');
    assert.match(readFileSync(`/proc/${ldc.proc.pid}/maps`, 'utf8'), /node-datachannel\/build\/Release\/node_datachannel\.node/, 'node-datachannel loaded our copy');
    await passesClientSh(8081, 'the libdatachannel server');
    if (pionMissing) {
      t.diagnostic(`pion checks skipped: ${pionMissing}`);
    } else {
      for (let run = 0; run < 3; run++) {
        const { code, stderr } = await pion(8081, '1', '10');
        assert.equal(code, 0, `pion data channel: ${stderr}`);
        assert.match(stderr, /ok test 1/);
      }
      const setups: number[] = [];
      for (let run = 0; run < 7; run++) {
        const { code, stderr } = await pion(8081, '0', '5');
        assert.equal(code, 0, stderr);
        setups.push(Number(/^connected_ms (\d+)/m.exec(stderr)?.[1]) - Number(/^answer_ms (\d+)/m.exec(stderr)?.[1]));
      }
      t.diagnostic(`pion answer -> connected: ${setups.join(', ')} ms`);
      assert.ok(median(setups)! < STUN_PACING_TIME, `median ${median(setups)} ms: the stock addon cannot go below ${STUN_PACING_TIME}`);
    }
    ldc.proc.kill('SIGTERM');
    assert.equal(await withTimeout(ldc.exited, 10_000, 'libdatachannel server exit'), 0);

    const tmp = await chrootRun(image.root, ['/bin/sh', '-c', 'touch /tmp/written'], inImage);
    assert.match(tmp.output, /Read-only file system/, 'the server above ran on a read-only root');
    const write = await chrootRun(image.root, ['/bin/sh', '-c', 'touch /app/dist/written'], { ...inImage, readOnlyRoot: false });
    assert.match(write.output, /Permission denied/, 'the server user cannot change the application files, even on a writable root');

    // docker stop: SIGTERM drains; the health check fails while it does; a held session ends, exit 0.
    // (werift's client: no libdatachannel start-up race, and the image's other engine runs too.)
    const held = chrootSpawn(image.root, ['/client.sh', '-s http://127.0.0.1:8080/offer -t 1 --hold 3 --engine werift'], inImage);
    t.after(() => held.kill('SIGKILL'));
    let heldErr = '';
    await withTimeout(new Promise<void>((resolve) => held.stderr!.on('data', (d) => (heldErr += d).includes('holding') && resolve())), 30_000, 'held client');
    server.proc.kill('SIGTERM');
    await withTimeout((async () => { while (!logs.some((l) => l.event === 'draining')) await new Promise((r) => setTimeout(r, 50)); })(), 5_000, 'draining');
    assert.equal((await health()).code, 1, 'unhealthy while draining');
    const [heldCode] = await once(held, 'exit');
    assert.equal(heldCode, 0, heldErr);
    assert.equal(await withTimeout(exited, 10_000, 'server exit'), 0);
    assert.equal(logs.find((l) => l.event === 'drained')?.sessionsAtStart, 1);
  },
);

function checkLayout(t: { diagnostic(message: string): void }, image: LaidOutImage): void {
  const link = join(image.root, 'client.sh');
  assert.ok(lstatSync(link).isSymbolicLink(), '/client.sh is a link');
  assert.equal(readlinkSync(link), '/app/client.sh');
  const target = statSync(join(image.root, 'app/client.sh'));
  assert.equal(target.mode & 0o777, 0o755, '/app/client.sh is executable by everyone');
  assert.ok(existsSync(join(image.root, 'app/dist/page/index.html')), 'the page is in the image');
  assert.ok(existsSync(join(image.root, 'app/testdata/video.ivf')), 'the media clips (client --media) are in the image');
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { devDependencies: Record<string, string>; dependencies: Record<string, string> };
  for (const dev of Object.keys(pkg.devDependencies)) assert.ok(!existsSync(join(image.root, 'app/node_modules', dev)), `no dev dependency ${dev} in the image`);
  for (const dep of Object.keys(pkg.dependencies)) assert.ok(existsSync(join(image.root, 'app/node_modules', dep)), `${dep} is in the image`);
  assert.ok(!existsSync(join(image.root, 'app/src')), 'no TypeScript sources in the image');
  t.diagnostic(`/app holds ${duMiB(join(image.root, 'app'))} MiB (node_modules ${duMiB(join(image.root, 'app/node_modules'))} MiB)`);
}

/**
 * The native addons need only what every Debian image has (libc, libm, libgcc_s, libstdc++); ours
 * borrows OpenSSL from the node binary (its symbols resolve at load), and links no libssl.
 */
async function checkNativeLibraries(image: LaidOutImage): Promise<void> {
  const base = /^(libc|libm|libdl|libpthread|librt|libgcc_s|libstdc\+\+)\.so\.\d+$|^\/lib64\/ld-linux-x86-64\.so\.2$/;
  const ours = join(image.root, 'app/native/build/Release/webrtc_echo_native.node');
  assert.ok(existsSync(ours), 'the native engine\'s addon is in the image');
  const addons = [...nativeAddons(join(image.root, 'app/node_modules')), ours];
  assert.ok(addons.some((a) => a.includes('node-datachannel')), 'node-datachannel ships its binary through the registry');
  for (const addon of addons) {
    const extra = (await neededLibraries(addon)).filter((lib) => !base.test(lib));
    assert.deepEqual(extra, [], `${addon} needs libraries beyond the base image's`);
  }
}

function duMiB(path: string): number {
  let bytes = 0;
  const walk = (p: string) => {
    const s = lstatSync(p);
    if (s.isDirectory()) for (const entry of readdirSafe(p)) walk(join(p, entry));
    else bytes += s.size;
  };
  walk(path);
  return Math.round(bytes / 1024 / 1024);
}

function readdirSafe(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
