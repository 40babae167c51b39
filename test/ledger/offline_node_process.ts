// A CB and two FIs (`fi-a`, `fi-b`) in one child process over existing databases, through
// serveOfflineNetwork — the process the crash test SIGKILLs. Keys come from the same seed as
// test/ledger/offline_world.ts, ids from system randomness (the parent holds handles on the same
// databases), and the clock is frozen at the parent's fake time. Prints `listening <url>`.

import { sha256 } from '@noble/hashes/sha2.js';
import { seededRng } from '../../src/crypto/rng.ts';
import { p256KeyPair } from '../../src/se/signed.ts';
import { makeWorld } from '../support/world.ts';
import type { DatabaseSpec } from '../../src/ledger/db/open.ts';
import { serveOfflineNetwork } from '../../src/ledger/http/serve.ts';

const config = JSON.parse(process.argv[2] ?? '{}') as { seed: string; nowMs: number; cb: DatabaseSpec; fiA: DatabaseSpec; fiB: DatabaseSpec; manufacturer: string };
const world = makeWorld(config.seed);
const running = await serveOfflineNetwork({
  clock: { nowMs: () => config.nowMs },
  verifyWorkers: 1,
  cb: { database: config.cb, signingKey: world.cb, issuerMaster: sha256(new TextEncoder().encode(`issuer/${config.seed}`)), regulatorKey: world.regulatorKey },
  fis: [
    { fiId: 'fi-a', database: config.fiA, signingKey: world.fi },
    { fiId: 'fi-b', database: config.fiB, signingKey: p256KeyPair(seededRng(`${config.seed}/fi-b`)) },
  ],
  manufacturers: { [config.manufacturer]: world.manufacturer.publicKey },
});
process.stdout.write(`listening ${running.url}\n`);
process.on('SIGTERM', () => {
  void running.close().then(() => process.exit(0));
});
