// Runs ledger nodes as servers: each opens its databases, migrates them, listens; closing stops
// the listener and then the databases. This is what a process hosting nodes calls (the CLI wires
// its flags to it). serveNode runs one book node (a CB or an FI) on its own. serveOfflineNetwork
// hosts a CB and its FIs in one process (the embedded default: /cb/..., /fi/<id>/...,
// /audit/network); serveOfflineFi hosts one FI whose CB is another node reached over HTTP
// (/fi/<id>/...). The offline servers register their FIs at the CB (idempotent) and finish any
// voucher or unload a crash interrupted before they listen. Keys are passed in: where they come
// from is the operator's business. With `tls` a node serves HTTPS with its certificate and may
// listen beyond loopback; a CB then tells FI nodes by their client certificates (tls/). A separate
// FI reaches an https CB with its own certificate (`cbTls`). serveHolder runs one escrow key
// holder's node (/holder/<i>/...): its own database and operators, its share, and the CB's warrant
// routes reached as key holder i with that holder's CB token, trusting only the network CA.

import type { EscrowAuthority } from '../cb/disclosure.ts';
import type { FastifyInstance } from 'fastify';
import type { PolicyTable } from '../../policy/limits.ts';
import type { P256KeyPair } from '../../se/signed.ts';
import { CentralBank } from '../cb/central_bank.ts';
import { CbHttpClient } from '../clients/cb_client.ts';
import type { Clock, RandomBytes } from '../context.ts';
import type { Db } from '../db/adapter.ts';
import { openDatabase, type DatabaseSpec } from '../db/open.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import { FinancialIntermediary } from '../fi/financial_intermediary.ts';
import type { RegulatorKeyShare } from '../../crypto/index.ts';
import { caFetch, openServerTls, tlsFetch, type NodeTls, type ServerTls, type TlsFiles, type TlsFetch } from '../tls/index.ts';
import { createCbApp, createFiApp, createHolderApp, createOfflineEmbeddedApp, createOfflineFiApp } from './apps.ts';
import { cbWarrantClient } from './holder_routes.ts';
import { requireLoopbackListen } from './listen_address.ts';

export type NodeRole = { role: 'cb' } | { role: 'fi'; fiId: string };

export interface ServeOptions {
  database: DatabaseSpec;
  host?: string;
  /** 0 picks a free port; the chosen address is returned. */
  port?: number;
  logger?: boolean;
  clock?: Clock;
  rng?: RandomBytes;
  /** Serve HTTPS with these files (a CB also reads `revokedFile`). */
  tls?: NodeTls;
}

export interface RunningNode {
  url: string;
  close(): Promise<void>;
}

export async function serveNode(node: NodeRole, options: ServeOptions): Promise<RunningNode> {
  requireLoopbackListen(options.host, options.tls !== undefined);
  const tls = options.tls === undefined ? undefined : openServerTls(options.tls);
  const db = openDatabase(options.database);
  const deps = { db, clock: options.clock, rng: options.rng, logger: options.logger, https: tls?.https };
  try {
    const { app } = node.role === 'cb' ? await createCbApp({ ...deps, callers: { institution: tls?.institution } }) : await createFiApp({ ...deps, fiId: node.fiId });
    const url = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
    return {
      url,
      close: async () => {
        await app.close();
        await db.close();
        tls?.close();
      },
    };
  } catch (err) {
    await db.close();
    tls?.close();
    throw err;
  }
}

export interface OfflineFiConfig {
  fiId: string;
  database: DatabaseSpec;
  signingKey: P256KeyPair;
}

export interface ListenOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  clock?: Clock;
  verifyWorkers?: number;
  logger?: boolean;
  /** Serve HTTPS with these files; the CB of serveOfflineNetwork also follows `revokedFile`. */
  tls?: NodeTls;
}

export interface RunningOfflineNetwork {
  url: string;
  cb: CentralBank;
  fis: FinancialIntermediary[];
  close(): Promise<void>;
}

async function closeAll(app: FastifyInstance | undefined, fis: FinancialIntermediary[], dbs: Db[], links: { close(): void }[] = []): Promise<void> {
  if (app) await app.close();
  for (const fi of fis) await fi.close();
  for (const db of dbs) await db.close();
  for (const l of links) l.close();
}

/** A CB and its FIs in one process, one database each. */
export async function serveOfflineNetwork(config: ListenOptions & {
  cb: {
    database: DatabaseSpec; signingKey: P256KeyPair; issuerMaster: Uint8Array; regulatorKey: Uint8Array; initialPolicy?: PolicyTable; nullifierPartitions?: number;
    /** The escrow key holders' verification keys and quorum (absent: the warrant routes answer BAD_REQUEST). */
    escrowAuthority?: EscrowAuthority;
  };
  fis: readonly OfflineFiConfig[];
  manufacturers: Readonly<Record<string, Uint8Array>>;
}): Promise<RunningOfflineNetwork> {
  requireLoopbackListen(config.host, config.tls !== undefined);
  const dbs: Db[] = [];
  const fis: FinancialIntermediary[] = [];
  let app: FastifyInstance | undefined;
  const tls: ServerTls[] = config.tls === undefined ? [] : [openServerTls(config.tls)];
  try {
    const cbDb = openDatabase(config.cb.database);
    dbs.push(cbDb);
    const cb = await CentralBank.open({ ...config.cb, db: cbDb, clock: config.clock });
    for (const f of config.fis) {
      const db = openDatabase(f.database);
      dbs.push(db);
      await cb.ledger.registerFi({ fiId: f.fiId, idempotencyKey: `register:${f.fiId}` });
      fis.push(await FinancialIntermediary.open({ db, fiId: f.fiId, signingKey: f.signingKey, manufacturers: config.manufacturers, cb, clock: config.clock, verifyWorkers: config.verifyWorkers }));
    }
    for (const fi of fis) {
      await fi.resume();
      await fi.warmUp(); // generators hashed in the workers before the first sync arrives
    }
    app = await createOfflineEmbeddedApp({ cb, fis }, { logger: config.logger, https: tls[0]?.https, cbCallers: { institution: tls[0]?.institution } });
    const url = await app.listen({ host: config.host ?? '127.0.0.1', port: config.port ?? 0 });
    const running = app;
    return { url, cb, fis, close: () => closeAll(running, fis, dbs, tls) };
  } catch (err) {
    await closeAll(app, fis, dbs, tls);
    throw err;
  }
}

/**
 * One FI in its own process; `cbUrl` is the CB node's root (e.g. https://cb:8080/cb), reached
 * with the FI's certificate `cbTls` (without it, plain fetch: a test CB on loopback only).
 */
export async function serveOfflineFi(config: ListenOptions & OfflineFiConfig & { cbUrl: string; cbTls?: TlsFiles; manufacturers: Readonly<Record<string, Uint8Array>> }) {
  requireLoopbackListen(config.host, config.tls !== undefined);
  const db = openDatabase(config.database);
  let fi: FinancialIntermediary | undefined;
  const links: TlsFetch[] = config.cbTls === undefined ? [] : [tlsFetch(config.cbTls)];
  const tls = config.tls === undefined ? undefined : openServerTls({ ...config.tls, revokedFile: undefined });
  try {
    const cb = await CbHttpClient.connect(config.cbUrl, links[0] ?? fetch);
    fi = await FinancialIntermediary.open({ db, fiId: config.fiId, signingKey: config.signingKey, manufacturers: config.manufacturers, cb, clock: config.clock, verifyWorkers: config.verifyWorkers });
    await fi.resume();
    await fi.warmUp();
    const app = await createOfflineFiApp(fi, { logger: config.logger, https: tls?.https });
    const url = await app.listen({ host: config.host ?? '127.0.0.1', port: config.port ?? 0 });
    const running = fi;
    return { url, fi: running, close: () => closeAll(app, [running], [db], links) };
  } catch (err) {
    await closeAll(undefined, fi ? [fi] : [], [db], links);
    throw err;
  }
}

export interface HolderNodeConfig {
  share: RegulatorKeyShare;
  database: DatabaseSpec;
  /** The CB's warrant prefix, e.g. https://cb:8080/cb. */
  cbUrl: string;
  /** Holder i's bearer token at the CB (`tally operator add --role key-holder --holder i` on the CB's database). */
  cbToken: string;
  /** The network CA the CB's certificate chains to; absent: plain fetch (a loopback test CB only). */
  cbCa?: string;
}

/**
 * Holder `share.index`'s own node. It listens on loopback only (plain HTTP: the holder's operators
 * sign in on the holder's machine); what leaves it is the partial decryption or the refusal, posted
 * to the CB over HTTPS. At start it asks the CB who its token is and for the warrant listing, so a
 * token that is not key holder i's at the CB stops the node before it serves.
 */
export async function serveHolder(config: Omit<ListenOptions, 'tls' | 'verifyWorkers'> & HolderNodeConfig): Promise<RunningNode & { warning?: string }> {
  requireLoopbackListen(config.host, false);
  const link = config.cbCa === undefined ? undefined : caFetch(config.cbCa);
  const cb = cbWarrantClient({ cbBase: config.cbUrl.replace(/\/+$/, ''), token: config.cbToken, fetchFn: link });
  let warning: string | undefined;
  try {
    const me = await cb.whoami();
    if (me.role !== 'key-holder' || me.holderIndex !== config.share.index) {
      throw new LedgerError(LedgerErrorCode.forbidden, `the CB knows this token as ${me.role}${me.holderIndex === null ? '' : ` ${me.holderIndex}`}, not as key holder ${config.share.index}`);
    }
    await cb.warrants();
  } catch (e) {
    if (!unreachable(e)) {
      link?.close();
      const why = `key holder ${config.share.index} cannot read the CB's warrants at ${config.cbUrl}: ${(e as Error).message}`;
      throw e instanceof LedgerError ? new LedgerError(e.code, why) : new Error(why, { cause: e });
    }
    // Unreachable (not refused, not a certificate failure): the node still starts, and each route
    // says so until the CB answers.
    warning = `the CB at ${config.cbUrl} did not answer (${(e as Error).message}); approvals and refusals will fail until it does`;
  }
  const db = openDatabase(config.database);
  try {
    const app = await createHolderApp({ db, share: config.share, cb, logger: config.logger });
    const url = await app.listen({ host: config.host ?? '127.0.0.1', port: config.port ?? 0 });
    return {
      url,
      ...(warning === undefined ? {} : { warning }),
      close: async () => {
        await app.close();
        await db.close();
        link?.close();
      },
    };
  } catch (err) {
    await db.close();
    link?.close();
    throw err;
  }
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/** A network error that says the CB is not there (yet), as opposed to one that refused us. */
function unreachable(e: unknown): boolean {
  for (let x: unknown = e, depth = 0; x instanceof Error && depth < 4; x = (x as Error & { cause?: unknown }).cause, depth++) {
    const code = (x as Error & { code?: unknown }).code;
    if (typeof code === 'string' && UNREACHABLE.has(code)) return true;
  }
  return false;
}
