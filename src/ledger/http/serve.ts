// Runs one ledger node as its own server: opens its database, migrates it, listens. This is what
// a process hosting a single CB or FI calls (the CLI wires its flags to it); the embedded default
// uses createEmbeddedApp instead. Closing stops the listener and then the database. With `tls`
// the node serves HTTPS (and may listen beyond loopback); a CB then tells FI nodes by their client
// certificates.

import type { Clock, RandomBytes } from '../context.ts';
import { openDatabase, type DatabaseSpec } from '../db/open.ts';
import { requireLoopbackListen } from './listen_address.ts';
import { createCbApp, createFiApp } from './apps.ts';
import { openServerTls, type NodeTls } from '../tls/index.ts';

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
