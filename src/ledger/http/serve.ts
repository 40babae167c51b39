// Runs ledger nodes as servers: each opens its databases, migrates them, listens; closing stops
// the listener and then the databases. This is what a process hosting nodes calls (the CLI wires
// its flags to it). serveNode runs one book node (a CB or an FI) on its own. serveOfflineNetwork
// hosts a CB and its FIs in one process (the embedded default: /cb/..., /fi/<id>/...,
// /audit/network); serveOfflineFi hosts one FI whose CB is another node reached over HTTP
// (/fi/<id>/...). The offline servers register their FIs at the CB (idempotent) and finish any
// voucher or unload a crash interrupted before they listen. Keys are passed in: where they come
// from is the operator's business. With `tls` a node serves HTTPS with its certificate and may
// listen beyond loopback; a CB then tells FI nodes by their client certificates (tls/). A separate
// FI reaches an https CB with its own certificate (`cbTls`).

import type { EscrowAuthority } from '../cb/disclosure.ts';
import type { FastifyInstance } from 'fastify';
import type { PolicyTable } from '../../policy/limits.ts';
import type { P256KeyPair } from '../../se/signed.ts';
import { CentralBank } from '../cb/central_bank.ts';
import { CbHttpClient } from '../clients/cb_client.ts';
import type { Clock, RandomBytes } from '../context.ts';
import type { Db } from '../db/adapter.ts';
import { openDatabase, type DatabaseSpec } from '../db/open.ts';
import { FinancialIntermediary } from '../fi/financial_intermediary.ts';
import { openServerTls, tlsFetch, type NodeTls, type ServerTls, type TlsFiles, type TlsFetch } from '../tls/index.ts';
import { createCbApp, createFiApp, createOfflineEmbeddedApp, createOfflineFiApp } from './apps.ts';
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
