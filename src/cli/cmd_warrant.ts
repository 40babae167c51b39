// `tally warrant`: the warrant workflow from a terminal (docs/compliance.md "Warrants"), the same
// routes the console's Warrants screen calls. At the CB (--url https://HOST:PORT/cb, --ca the
// network CA) a regulator files a warrant naming one payment (by its nullifier, which the payee's
// receipt shows, or its payment hash), reads its state, discloses the payer once the quorum is in,
// and reads the disclosure log with its chain check. At a key holder's own node (--url
// http://127.0.0.1:PORT/holder/<i>, from `tally serve --role key-holder`) the holder approves —
// the node computes its partial decryption from its own share — or refuses with a reason. Every
// call carries the caller's token (--token-file); a refusal prints the node's typed error.

import { CliError, flag, optionString, requireString, type OptionSpec, type Parsed } from './args.ts';
import { JSON_OPTION, toJson, type Command, type Io } from './command.ts';
import { accessHint, bearerHeaders, CA_OPTION, fetchFor, TOKEN_FILE_OPTION, tokenOf } from './node_access.ts';

const URL_CB = { name: 'url', value: true, help: "the CB's root, e.g. https://127.0.0.1:8080/cb" } as const;
const URL_HOLDER = { name: 'url', value: true, help: "the key holder's node, e.g. http://127.0.0.1:8091/holder/1" } as const;
const ID = { name: 'id', value: true, help: 'the warrant id (the regulator chooses it when filing)' } as const;

interface WarrantView {
  warrantId: string;
  paymentHash: string;
  authority: string;
  reason: string;
  status: string;
  threshold: number;
  holders: number;
  approvals: number[];
  refusals: { holder: number; reason: string }[];
  disclosed: { fiId: string; customerId: string; deviceId: string; holders: number[] } | null;
}

/** One call to a node; a refusal becomes a CliError naming the node's error code. */
async function call(p: Parsed, method: 'GET' | 'POST', path: string, payload?: unknown): Promise<Record<string, unknown>> {
  const base = requireString(p, 'url').replace(/\/+$/, '');
  const url = `${base}${path}`;
  let res: Response;
  try {
    res = await fetchFor(p)(url, {
      method,
      headers: { ...bearerHeaders(tokenOf(p)), ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError('UNREACHABLE', `cannot reach ${url}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = await res.json();
  } catch {
    throw new CliError('FAILED', `${method} ${url} answered HTTP ${res.status} with a body that is not JSON`);
  }
  const o = json !== null && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : {};
  if (!res.ok) {
    const e = o['error'] as { code?: unknown; message?: unknown } | undefined;
    const what = typeof e?.code === 'string' ? `${e.code}: ${typeof e.message === 'string' ? e.message : ''}` : `HTTP ${res.status}`;
    throw new CliError('FAILED', `${method} ${url} refused (HTTP ${res.status}) ${what}${accessHint(res.status)}`);
  }
  return o;
}

function printWarrant(io: Io, w: WarrantView): void {
  io.out(`warrant ${w.warrantId}: ${w.status}, approvals ${w.approvals.length}/${w.threshold} of ${w.holders} holders${w.approvals.length > 0 ? ` (${w.approvals.join(', ')})` : ''}`);
  io.out(`  payment   ${w.paymentHash}`);
  io.out(`  authority ${w.authority}`);
  io.out(`  reason    ${w.reason}`);
  for (const r of w.refusals) io.out(`  refused by holder ${r.holder}: ${r.reason}`);
  if (w.disclosed !== null) io.out(`  payer     customer ${w.disclosed.customerId} of ${w.disclosed.fiId}, device ${w.disclosed.deviceId} (holders ${w.disclosed.holders.join(', ')})`);
}

function show(p: Parsed, io: Io, o: Record<string, unknown>, key = 'warrant'): number {
  if (flag(p, 'json')) io.out(toJson(o));
  else printWarrant(io, o[key] as WarrantView);
  return 0;
}

const fileCommand: Command = {
  name: 'file',
  summary: 'File a warrant at the CB naming one payment (regulator).',
  usage: 'tally warrant file --url CB --ca CA.pem --token-file F --id W (--nullifier HEX | --payment-hash HEX) --authority TEXT --reason TEXT [--json]',
  options: [URL_CB, CA_OPTION, TOKEN_FILE_OPTION, ID,
    { name: 'nullifier', value: true, help: "the payment's nullifier (hex, as the payee's receipt shows it)" },
    { name: 'payment-hash', value: true, help: "the stored payment's hash (hex), when a nullifier names two payments (a double spend)" },
    { name: 'authority', value: true, help: 'who issued the warrant (court, case number)' },
    { name: 'reason', value: true, help: 'why this payment' },
    JSON_OPTION],
  async run(p, io) {
    const nullifier = optionString(p, 'nullifier');
    const paymentHash = optionString(p, 'payment-hash');
    if ((nullifier === undefined) === (paymentHash === undefined)) throw new CliError('USAGE', 'give exactly one of --nullifier or --payment-hash');
    const o = await call(p, 'POST', '/warrants', {
      warrantId: requireString(p, 'id'), authority: requireString(p, 'authority'), reason: requireString(p, 'reason'),
      ...(nullifier === undefined ? { paymentHash } : { nullifier }),
    });
    return show(p, io, o);
  },
};

/** A command on one warrant: `method` on …/warrants/<id>`suffix` (with `body` when it has one), printing the warrant. */
function onWarrant(spec: { name: string; summary: string; usage: string; url: OptionSpec; extra?: OptionSpec[]; method: 'GET' | 'POST'; suffix: string; body?: (p: Parsed) => unknown }): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    usage: spec.usage,
    options: [spec.url, CA_OPTION, TOKEN_FILE_OPTION, ID, ...(spec.extra ?? []), JSON_OPTION],
    async run(p, io) {
      return show(p, io, await call(p, spec.method, `/warrants/${encodeURIComponent(requireString(p, 'id'))}${spec.suffix}`, spec.body?.(p)));
    },
  };
}

const showCommand = onWarrant({
  name: 'show', summary: "A warrant's state: approvals, refusals, and the payer once disclosed (regulator, auditor, key holder).",
  usage: 'tally warrant show --url CB --ca CA.pem --token-file F --id W [--json]', url: URL_CB, method: 'GET', suffix: '',
});

const listCommand: Command = {
  name: 'list',
  summary: 'The warrants, at the CB or as a key holder\'s node sees them.',
  usage: 'tally warrant list --url CB|HOLDER [--ca CA.pem] --token-file F [--json]',
  options: [{ name: 'url', value: true, help: 'the CB\'s root (…/cb) or a key holder\'s node (…/holder/<i>)' }, CA_OPTION, TOKEN_FILE_OPTION, JSON_OPTION],
  async run(p, io) {
    const o = await call(p, 'GET', '/warrants');
    if (flag(p, 'json')) io.out(toJson(o));
    else {
      const ws = (o['warrants'] ?? []) as WarrantView[];
      if (ws.length === 0) io.out('no warrants');
      for (const w of ws) printWarrant(io, w);
    }
    return 0;
  },
};

const approveCommand = onWarrant({
  name: 'approve', summary: "Approve a warrant at your key holder's node: it decrypts its part of the payment's escrow and posts it to the CB.",
  usage: 'tally warrant approve --url HOLDER --token-file F --id W [--json]', url: URL_HOLDER, method: 'POST', suffix: '/approve',
});

const refuseCommand = onWarrant({
  name: 'refuse', summary: "Refuse a warrant at your key holder's node, with the reason the CB records.",
  usage: 'tally warrant refuse --url HOLDER --token-file F --id W --reason TEXT [--json]', url: URL_HOLDER, method: 'POST', suffix: '/refuse',
  extra: [{ name: 'reason', value: true, help: 'why this holder refuses' }], body: (p) => ({ reason: requireString(p, 'reason') }),
});

const discloseCommand = onWarrant({
  name: 'disclose', summary: "Combine the quorum's partials and disclose the payer of the warranted payment (regulator).",
  usage: 'tally warrant disclose --url CB --ca CA.pem --token-file F --id W [--json]', url: URL_CB, method: 'POST', suffix: '/disclose',
});

const logCommand: Command = {
  name: 'log',
  summary: "The CB's disclosure log and its hash-chain check (regulator, auditor); exit 1 if the chain is broken.",
  usage: 'tally warrant log --url CB --ca CA.pem --token-file F [--json]',
  options: [URL_CB, CA_OPTION, TOKEN_FILE_OPTION, JSON_OPTION],
  async run(p, io) {
    const o = await call(p, 'GET', '/disclosure/log');
    const check = o['check'] as { intact: boolean; entries: number; brokenAt: string | null };
    if (flag(p, 'json')) io.out(toJson(o));
    else {
      io.out(`disclosure log: ${check.entries} entries, chain ${check.intact ? 'intact' : `broken at entry ${check.brokenAt}`}`);
      for (const e of (o['entries'] ?? []) as { seq: string; kind: string; warrantId: string; createdMs: number; body: unknown }[]) {
        io.out(`  #${e.seq} ${new Date(e.createdMs).toISOString()} ${e.kind} ${e.warrantId} ${JSON.stringify(e.body)}`);
      }
    }
    return check.intact ? 0 : 1;
  },
};

export const warrantCommand: Command = {
  name: 'warrant',
  summary: 'The warrant workflow: file, show, list, approve, refuse, disclose, log.',
  usage: 'tally warrant <file|show|list|approve|refuse|disclose|log> --url NODE --token-file F [options]',
  options: [],
  children: [fileCommand, showCommand, listCommand, approveCommand, refuseCommand, discloseCommand, logCommand],
};
