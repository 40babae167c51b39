// Amounts typed by people: currency units with up to two decimals ("15", "15.00", "7.5") become
// bigint minor units, and back. Anything else is a usage error, never a rounded guess.

import { CliError, optionString, type Parsed } from './args.ts';

/** Digits before the point: 10^13 units is far beyond any balance a policy allows. */
export const AMOUNT_UNIT_DIGITS_MAX = 13;
export const MINOR_PER_UNIT = 100n;

const AMOUNT_RE = new RegExp(`^(\\d{1,${AMOUNT_UNIT_DIGITS_MAX}})(?:\\.(\\d{1,2}))?$`);

export function parseAmount(text: string, what: string, opts: { allowZero?: boolean } = {}): bigint {
  const m = AMOUNT_RE.exec(text);
  if (m === null) throw new CliError('USAGE', `${what} must be an amount in currency units with up to 2 decimals (e.g. 15.00), got '${text}'`);
  const minor = BigInt(m[1]!) * MINOR_PER_UNIT + BigInt((m[2] ?? '').padEnd(2, '0'));
  if (minor === 0n && !opts.allowZero) throw new CliError('USAGE', `${what} must be more than zero, got '${text}'`);
  return minor;
}

export function optionAmount(p: Parsed, name: string, opts: { allowZero?: boolean } = {}): bigint | undefined {
  const v = optionString(p, name);
  return v === undefined ? undefined : parseAmount(v, `--${name}`, opts);
}

export function requireAmount(p: Parsed, name: string): bigint {
  const v = optionAmount(p, name);
  if (v === undefined) throw new CliError('USAGE', `--${name} is required`);
  return v;
}

/** 1234n → "12.34"; -5n → "-0.05". */
export function formatAmount(minor: bigint): string {
  const sign = minor < 0n ? '-' : '';
  const abs = minor < 0n ? -minor : minor;
  return `${sign}${abs / MINOR_PER_UNIT}.${(abs % MINOR_PER_UNIT).toString().padStart(2, '0')}`;
}
