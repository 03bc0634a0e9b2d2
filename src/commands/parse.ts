import { InvalidArgumentError, Option } from 'commander';

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

/** An option given in seconds and held in milliseconds, whose help shows its default in seconds. */
export function secondsOption(flags: string, description: string, defaultMs: number): Option {
  return new Option(flags, description).argParser(parseSeconds).default(defaultMs, `${defaultMs / 1000}`);
}
