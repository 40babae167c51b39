// How an operator's command reaches a node that checks credentials (ledger/access.ts): the bearer
// token from --token-file (written 0600 by `tally operator add --token-file`, never on the command
// line, where other users of the machine could read it), and for an https node the network CA
// from --ca (DIR/tls/ca.pem of `tally network init`) as the only trust anchor.

import { readFileSync } from 'node:fs';
import { caFetch } from '../ledger/index.ts';
import { CliError, optionString, type OptionSpec, type Parsed } from './args.ts';

export const TOKEN_FILE_OPTION: OptionSpec = { name: 'token-file', value: true, help: 'file holding your token (from `tally operator add --token-file`)' };
export const CA_OPTION: OptionSpec = { name: 'ca', value: true, help: 'the network CA (DIR/tls/ca.pem) for an https node' };

/** The token in `--token-file` (or the option `name`), if given. */
export function tokenOf(p: Parsed, name = 'token-file'): string | undefined {
  const file = optionString(p, name);
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new CliError('USAGE', `cannot read --${name} ${file}: ${(e as Error).message}`);
  }
  if (!/^tly1\.[A-Za-z0-9._-]+$/.test(text)) throw new CliError('USAGE', `${file} does not hold a Tally token`);
  return text;
}

export const bearerHeaders = (token: string | undefined): Record<string, string> => (token === undefined ? {} : { authorization: `Bearer ${token}` });

/** fetch that trusts `--ca` for https URLs (the system's roots otherwise). */
export function fetchFor(p: Parsed): typeof fetch {
  const file = optionString(p, 'ca');
  if (file === undefined) return fetch;
  let ca: string;
  try {
    ca = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError('USAGE', `cannot read --ca ${file}: ${(e as Error).message}`);
  }
  const f = caFetch(ca);
  // One command, one process: the keep-alive sockets must not hold the process open.
  return (async (input, init) => {
    try {
      return await f(input, init);
    } finally {
      f.close();
    }
  }) as typeof fetch;
}

/** What a refused call means for the person typing the command. */
export function accessHint(status: number): string {
  if (status === 401) return ' (no valid credential: pass --token-file with a token of this node)';
  if (status === 403) return ' (your token\'s role may not do this here)';
  if (status === 429) return ' (rate limited: try again shortly)';
  return '';
}
