// Writes docs/openapi/{cb,fi,embedded,holder}.json: the OpenAPI document of each node a network serves
// (`tally serve --network`: --role cb, --role fi, --role all; and an escrow key holder's own node,
// http/holder_routes.ts, shown as holder 1), generated from the apps' own
// routes. Each app is built over real nodes on in-memory SQLite with fixed keys; no request is
// served, so nothing but the route list reaches the document. test/ledger/openapi.test.ts
// regenerates each and fails when a checked-in copy is stale. Run: npm run openapi

import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { sha256 } from '@noble/hashes/sha2.js';
import { G1Point } from '../src/crypto/group.ts';
import { seededRng } from '../src/crypto/rng.ts';
import { CentralBank } from '../src/ledger/cb/central_bank.ts';
import type { Db } from '../src/ledger/db/adapter.ts';
import { openSqlite } from '../src/ledger/db/sqlite.ts';
import { FinancialIntermediary } from '../src/ledger/fi/financial_intermediary.ts';
import { createHolderApp, createOfflineEmbeddedApp, createOfflineFiApp, holderTitle, OPENAPI_TITLES } from '../src/ledger/http/apps.ts';
import { cbWarrantClient } from '../src/ledger/http/holder_routes.ts';
import { dealRegulatorKey } from '../src/crypto/escrow.ts';
import { openApiDocument } from '../src/ledger/http/openapi.ts';
import { p256KeyPair } from '../src/se/signed.ts';

/** The FI the FI-alone and embedded documents show (the README's first bank). */
export const DOCUMENT_FI_ID = 'bank-a';

export const DOCUMENT_NAMES = ['cb', 'fi', 'embedded', 'holder'] as const;
export type DocumentName = (typeof DOCUMENT_NAMES)[number];

export interface DocumentApps {
  apps: Record<DocumentName, { app: FastifyInstance; title: string }>;
  close(): Promise<void>;
}

/** The three node apps of a network, over throw-away in-memory nodes; close() releases them. */
export async function documentApps(): Promise<DocumentApps> {
  const dbs: Db[] = [openSqlite({ filename: ':memory:' }), openSqlite({ filename: ':memory:' }), openSqlite({ filename: ':memory:' })];
  const cb = await CentralBank.open({
    db: dbs[0]!, signingKey: p256KeyPair(seededRng('openapi/cb')), issuerMaster: sha256(new TextEncoder().encode('openapi/issuer')),
    regulatorKey: G1Point.BASE.toBytes(), rng: seededRng('openapi/cb-rng'),
  });
  await cb.ledger.registerFi({ fiId: DOCUMENT_FI_ID, idempotencyKey: `register:${DOCUMENT_FI_ID}` });
  const fi = await FinancialIntermediary.open({
    db: dbs[1]!, fiId: DOCUMENT_FI_ID, signingKey: p256KeyPair(seededRng('openapi/fi')), manufacturers: {}, cb, verifyWorkers: 0, rng: seededRng('openapi/fi-rng'),
  });
  const cbApp = await createOfflineEmbeddedApp({ cb, fis: [] });
  const fiApp = await createOfflineFiApp(fi);
  const embeddedApp = await createOfflineEmbeddedApp({ cb, fis: [fi] });
  // A holder node's routes do not depend on its share or its CB; none of them is called here.
  const share = dealRegulatorKey({ threshold: 2, holders: 3, rng: seededRng('openapi/regulator') }).shares[0]!;
  const holderApp = await createHolderApp({ db: dbs[2]!, share, cb: cbWarrantClient({ cbBase: 'http://127.0.0.1:9/cb', token: 'unused' }), rng: seededRng('openapi/holder-rng') });
  const apps = {
    cb: { app: cbApp, title: OPENAPI_TITLES.cb },
    fi: { app: fiApp, title: OPENAPI_TITLES.fi(DOCUMENT_FI_ID) },
    embedded: { app: embeddedApp, title: OPENAPI_TITLES.embedded },
    holder: { app: holderApp, title: holderTitle(share.index) },
  };
  for (const { app } of Object.values(apps)) await app.ready();
  return {
    apps,
    close: async () => {
      for (const { app } of Object.values(apps)) await app.close();
      await fi.close();
      for (const db of dbs) await db.close();
    },
  };
}

/** A document as checked in: two-space JSON and a final newline. */
export function documentText(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

export const documentFile = (name: DocumentName): string => fileURLToPath(new URL(`../docs/openapi/${name}.json`, import.meta.url));

async function main(): Promise<void> {
  const { apps, close } = await documentApps();
  try {
    for (const name of DOCUMENT_NAMES) {
      const { app, title } = apps[name];
      writeFileSync(documentFile(name), documentText(openApiDocument(app, { title })));
      console.log(`wrote ${documentFile(name)}`);
    }
  } finally {
    await close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
