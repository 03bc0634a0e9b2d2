/**
 * `--add-server NAME=COMMAND|URL` and `--add-client NAME=COMMAND`: a library author's own
 * stack in the matrix, driven by the Echo Test's container contract alone.
 */

export type Role = 'server' | 'client';

export interface PeerSpec {
  name: string;
  role: Role;
  /** A command line run by /bin/sh, or (servers only) the /offer URL of a server already running. */
  kind: 'command' | 'url';
  value: string;
}

/** Names go into file names, cell ids and comma-separated lists: letters, digits, `-` and `_`. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/;

/** Parses `NAME=COMMAND` or `NAME=URL`; throws an Error that says what is wrong. */
export function parsePeerSpec(role: Role, text: string): PeerSpec {
  const option = `--add-${role}`;
  const eq = text.indexOf('=');
  if (eq < 0) throw new Error(`${option} takes NAME=${role === 'server' ? 'COMMAND or NAME=URL' : 'COMMAND'}, got "${text}"`);
  const name = text.slice(0, eq).trim();
  const value = text.slice(eq + 1).trim();
  if (!NAME.test(name)) throw new Error(`${option}: "${name}" is not a usable name (letters, digits, - and _, at most 40)`);
  if (!value) throw new Error(`${option} ${name}: the command is empty`);
  if (/^https?:\/\//i.test(value)) {
    if (role === 'client') throw new Error(`${option} ${name}: a client is a command, not a URL`);
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new Error(`${option} ${name}: "${value}" is not a URL`);
    }
    // As the contract's clients read it: a URL without a path means its /offer.
    if (url.pathname === '/') url.pathname = '/offer';
    return { name, role, kind: 'url', value: url.href };
  }
  if (role === 'server' && !value.includes('{port}')) {
    throw new Error(
      `${option} ${name}: the command must say where to listen with {port} (the matrix picks a free port per cell); ` +
        `for a server that only listens on a fixed port, start it yourself and give ${option} ${name}=http://127.0.0.1:PORT/offer`,
    );
  }
  return { name, role, kind: 'command', value };
}

/** The option that adds this peer again, as it was given, for a cell's rerun command. */
export function specArgs(spec: PeerSpec): string[] {
  return [`--add-${spec.role}`, `${spec.name}=${spec.value}`];
}

/**
 * The first word of a shell command, for a check that it exists (leading `VAR=value`
 * assignments skipped, simple quotes honoured); undefined when the command is too clever for that.
 */
export function firstWord(command: string): string | undefined {
  const words = command.match(/(?:[^\s'"]+|'[^']*'|"[^"]*")+/g) ?? [];
  const word = words.find((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
  if (word === undefined || /[$`{}()|;&<>*?]/.test(word)) return undefined;
  return word.replace(/'([^']*)'|"([^"]*)"/g, '$1$2');
}
