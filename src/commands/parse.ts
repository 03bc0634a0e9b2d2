import { InvalidArgumentError, Option } from 'commander';
import { isIP } from 'node:net';
import type { IceServer } from '../net/ice-server.js';
import { parseCidrList, type Cidr } from '../sdp/candidate-policy.js';
import { iceServerFromUrl } from '../net/ice-server.js';

/** Commander option parsers: options are validated before any work starts. */
export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}

/** Seconds on the command line (fractions allowed), milliseconds inside. */
export function parseSeconds(value: string): number {
  const s = Number(value);
  if (!Number.isFinite(s) || s <= 0) throw new InvalidArgumentError('expected a number of seconds > 0');
  return Math.round(s * 1000);
}

/** Seconds where 0 means "not at all" (e.g. --drain-timeout 0: close at once). */
export function parseSecondsOrZero(value: string): number {
  const s = Number(value);
  if (value.trim() === '' || !Number.isFinite(s) || s < 0) throw new InvalidArgumentError('expected a number of seconds ≥ 0');
  return Math.round(s * 1000);
}

/** An option given in seconds and held in milliseconds, whose help shows its default in seconds. */
export function secondsOption(flags: string, description: string, defaultMs: number): Option {
  return new Option(flags, description).argParser(parseSeconds).default(defaultMs, `${defaultMs / 1000}`);
}

/** Repeatable options collect into a list. */
export function collect<T>(parse: (value: string) => T): (value: string, previous: T[] | undefined) => T[] {
  return (value, previous) => [...(previous ?? []), parse(value)];
}

/** An ICE server option (see iceServerFromUrl), refused with the parser's own words. */
export function parseIceServer(value: string): IceServer {
  try {
    return iceServerFromUrl(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** `MIN-MAX`, inclusive, within 1..65535. */
export function parsePortRange(value: string): { min: number; max: number } {
  const match = /^(\d{1,5})-(\d{1,5})$/.exec(value);
  const [min, max] = match ? [Number(match[1]), Number(match[2])] : [NaN, NaN];
  if (!(min >= 1 && max <= 65535 && min <= max)) throw new InvalidArgumentError('expected MIN-MAX, ports 1..65535 with MIN ≤ MAX');
  return { min, max };
}

export function parseIpAddress(value: string): string {
  if (isIP(value) === 0) throw new InvalidArgumentError(`not an IPv4 or IPv6 address: ${value}`);
  return value;
}

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('a port is 0..65535');
  return port;
}

export function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number ≥ 0');
  return n;
}

export function parseCidrs(value: string): Cidr[] {
  try {
    return parseCidrList(value);
  } catch (err) {
    throw new InvalidArgumentError(`expected comma-separated CIDRs such as 10.0.0.0/8,fd00::/8 (${err instanceof Error ? err.message : String(err)})`);
  }
}

export function parseOrigins(value: string): '*' | string[] {
  if (value.trim() === '*') return '*';
  const origins = value.split(',').map((origin) => origin.trim()).filter(Boolean);
  for (const origin of origins) {
    if (!URL.canParse(origin) || new URL(origin).origin !== origin) throw new InvalidArgumentError(`"${origin}" is not an origin such as https://example.com`);
  }
  return origins;
}

/** No value: trust any proxy; a number: that many hops; else addresses/CIDRs (Fastify's trustProxy, through proxy-addr). */
export function parseTrustProxy(value: string | true): boolean | number | string {
  if (value === true) return true;
  if (/^\d+$/.test(value)) return Number(value);
  parseCidrs(value);
  return value;
}

/**
 * An option whose default is decided at start (undefined until then), with `said` in its help:
 * commander prints no default for an undefined value, whatever description it is given.
 */
export function decidedAtStart(option: Option, said: string): Option {
  option.description = `${option.description} (default: ${said})`;
  return option;
}
