// A ledger node in a process of its own, for tests that need real process boundaries. Argument:
// one JSON object { node: NodeRole, database: DatabaseSpec }. Prints `listening <url>` once
// ready, and exits cleanly on SIGTERM.

import { serveNode, type NodeRole } from '../../src/ledger/http/serve.ts';
import type { DatabaseSpec } from '../../src/ledger/db/open.ts';

const config = JSON.parse(process.argv[2] ?? '{}') as { node: NodeRole; database: DatabaseSpec };
const running = await serveNode(config.node, { database: config.database });
process.stdout.write(`listening ${running.url}\n`);
process.on('SIGTERM', () => {
  void running.close().then(() => process.exit(0));
});
