// `tally audit`: ask a running node for its audit, or audit a database directly; exit 1 when any
// violation is found, so scripts and CI can rely on the exit code.

import { auditBook, formatExposure, type Exposure } from '../ledger/index.ts';
import { CliError, flag, optionString } from './args.ts';
import { JSON_OPTION, toJson, type Command, type Io } from './command.ts';
import { withReadOnlyDatabase } from './read_only_db.ts';
import { accessHint, bearerHeaders, CA_OPTION, fetchFor, TOKEN_FILE_OPTION, tokenOf } from './node_access.ts';
import type { Parsed } from './args.ts';

interface Report {
  clean: boolean;
  violations: Array<{ code: string; message: string; rows?: unknown }>;
  [k: string]: unknown;
}

async function fetchAudit(url: string, p: Parsed): Promise<Report> {
  let res: Response;
  try {
    // A node root gets /audit appended; an audit URL itself (e.g. .../audit/network) is used as is.
    const target = /\/audit(\/network)?\/?(\?.*)?$/.test(url) ? url : new URL('audit', url.endsWith('/') ? url : `${url}/`);
    res = await fetchFor(p)(target, { headers: bearerHeaders(tokenOf(p)) });
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError('UNREACHABLE', `cannot reach ${url}: ${(e as Error).message}`);
  }
  if (!res.ok) throw new CliError('FAILED', `${url}/audit answered HTTP ${res.status}${accessHint(res.status)}`);
  return (await res.json()) as Report;
}

export function printAudit(io: Io, where: string, report: Report, json: boolean): void {
  if (json) {
    io.out(toJson(report));
    return;
  }
  io.out(`audit of ${where}: ${report.clean ? 'clean' : `${report.violations.length} violation(s)`}`);
  for (const v of report.violations) io.out(`  ${v.code}: ${v.message}${v.rows ? `\n    rows: ${toJson(v.rows)}` : ''}`);
  // A network audit also carries the discrepancy alarms and the broken-SE exposure.
  const alarms = (report['alarms'] ?? []) as Array<{ code: string; message: string }>;
  for (const a of alarms) io.out(`  ALARM ${a.code}: ${a.message}`);
  if (report['brokenSeExposure'] !== undefined) for (const l of formatExposure(report['brokenSeExposure'] as Exposure)) io.out(`  ${l}`);
}

export const auditCommand: Command = {
  name: 'audit',
  summary: 'Check that every journal balances, balances match their entries, and no nullifier settled twice.',
  usage: 'tally audit (--url http(s)://HOST:PORT[/cb|/fi/ID|/audit/network] --token-file FILE [--ca CA.pem] | --db sqlite:PATH|postgres://...) [--json]',
  options: [
    { name: 'url', value: true, help: 'base URL of a running CB or FI node' },
    { name: 'db', value: true, help: 'audit this database directly (read-only; its schema must be current)' },
    TOKEN_FILE_OPTION,
    CA_OPTION,
    JSON_OPTION,
  ],
  async run(p, io) {
    const url = optionString(p, 'url');
    const db = optionString(p, 'db');
    if ((url === undefined) === (db === undefined)) throw new CliError('USAGE', 'give exactly one of --url or --db');
    let report: Report;
    if (url !== undefined) {
      report = await fetchAudit(url, p);
    } else {
      report = await withReadOnlyDatabase(db!, 'audit', async (handle) => (await auditBook(handle, Date.now())) as unknown as Report);
    }
    printAudit(io, url ?? db!, report, flag(p, 'json'));
    return report.clean ? 0 : 1;
  },
};
