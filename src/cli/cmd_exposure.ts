// `tally exposure`: the worst case broken SEs can spend before detection (DESIGN §3.4 Contain),
// from the policy table and the live device counts per tier: 2 × L × cap(t) per device that stops
// syncing (a credential for the current and the next epoch at most), L × cap(t) per epoch for one
// that keeps syncing with consistent lies (caught in aggregate by the discrepancy alarm). Reads a
// running network's /audit/network (--url) or FI databases directly (--db, repeatable), with the
// policy from a CB database (--cb-db) or the default policy when none is given (and says so).

import { brokenSeExposure, devicesPerTier, formatExposure, latestPolicy, type Db, type Exposure } from '../ledger/index.ts';
import { DEFAULT_POLICY, type PolicyTable } from '../policy/limits.ts';
import { CliError, flag, optionString, type Parsed } from './args.ts';
import { accessHint, bearerHeaders, CA_OPTION, fetchFor, TOKEN_FILE_OPTION, tokenOf } from './node_access.ts';
import { JSON_OPTION, toJson, type Command, type Io } from './command.ts';
import { withReadOnlyDatabase } from './read_only_db.ts';

async function fromUrl(url: string, p: Parsed): Promise<{ exposure: Exposure; alarms: Array<{ message: string }> }> {
  const target = /\/audit\/network\/?$/.test(url) ? url : new URL('audit/network', url.endsWith('/') ? url : `${url}/`);
  let res: Response;
  try {
    res = await fetchFor(p)(target, { headers: bearerHeaders(tokenOf(p)) });
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError('UNREACHABLE', `cannot reach ${url}: ${(e as Error).message}`);
  }
  if (!res.ok) throw new CliError('FAILED', `${String(target)} answered HTTP ${res.status}${accessHint(res.status)}`);
  const audit = (await res.json()) as { brokenSeExposure?: Exposure; alarms?: Array<{ message: string }> };
  if (audit.brokenSeExposure === undefined) throw new CliError('FAILED', `${String(target)} is not a network audit with an exposure section`);
  return { exposure: audit.brokenSeExposure, alarms: audit.alarms ?? [] };
}

const withDb = <T>(spec: string, fn: (db: Db) => Promise<T>): Promise<T> => withReadOnlyDatabase(spec, 'read the exposure of', fn);

async function fromDbs(fiDbs: string[], cbDb: string | undefined): Promise<{ exposure: Exposure; policySource: string }> {
  let policy: PolicyTable = DEFAULT_POLICY;
  let policySource = `the default policy v${DEFAULT_POLICY.version} (no --cb-db given)`;
  if (cbDb !== undefined) {
    const stored = await withDb(cbDb, (db) => latestPolicy(db));
    if (stored === undefined) throw new CliError('FAILED', `${cbDb} holds no policy: is it a CB database?`);
    policy = stored;
    policySource = `policy v${stored.version} from ${cbDb}`;
  }
  const counts = new Map<number, bigint>();
  for (const spec of fiDbs) {
    for (const [tier, n] of await withDb(spec, (db) => devicesPerTier(db))) counts.set(tier, (counts.get(tier) ?? 0n) + n);
  }
  return { exposure: brokenSeExposure(policy, counts), policySource };
}

/** A repeatable option arrives joined by commas (args.ts). */
const optionList = (p: Parameters<typeof optionString>[0], name: string): string[] => optionString(p, name)?.split(',').filter((s) => s.length > 0) ?? [];

function print(io: Io, where: string, exposure: Exposure, notes: string[]): void {
  io.out(`exposure of ${where}`);
  for (const l of [...formatExposure(exposure), ...notes]) io.out(l);
}

export const exposureCommand: Command = {
  name: 'exposure',
  summary: 'Print the most broken SEs can spend before detection, per tier and in total.',
  usage: 'tally exposure (--url http(s)://HOST:PORT --token-file FILE [--ca CA.pem] | --db FI_DB [--db FI_DB ...] [--cb-db CB_DB]) [--json]',
  options: [
    { name: 'url', value: true, help: 'base URL of a running network (reads /audit/network)' },
    TOKEN_FILE_OPTION,
    CA_OPTION,
    { name: 'db', value: true, repeatable: true, help: 'an FI database to count devices in (repeatable)' },
    { name: 'cb-db', value: true, help: 'the CB database holding the policy (default: the default policy)' },
    JSON_OPTION,
  ],
  async run(p, io) {
    const url = optionString(p, 'url');
    const dbs = optionList(p, 'db');
    if ((url === undefined) === (dbs.length === 0)) throw new CliError('USAGE', 'give exactly one of --url or --db');
    if (url !== undefined && optionString(p, 'cb-db') !== undefined) throw new CliError('USAGE', '--cb-db goes with --db, not --url');
    if (url !== undefined) {
      const r = await fromUrl(url, p);
      if (flag(p, 'json')) io.out(toJson({ exposure: r.exposure, alarms: r.alarms }));
      else print(io, url, r.exposure, r.alarms.map((a) => `ALARM: ${a.message}`));
      return r.alarms.length === 0 ? 0 : 1;
    }
    const r = await fromDbs(dbs, optionString(p, 'cb-db'));
    if (flag(p, 'json')) io.out(toJson({ exposure: r.exposure, policy: r.policySource }));
    else print(io, dbs.join(', '), r.exposure, [`  (${r.policySource})`]);
    return 0;
  },
};
