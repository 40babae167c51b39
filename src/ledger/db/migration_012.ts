// Migration 012: signed device requests (issue 11, src/ledger/access/device_requests.ts). Each device row
// keeps the highest request counter the FI has accepted from its SE (0: none yet); a request is
// admitted only by the one conditional UPDATE that raises it, so a replayed or reordered request,
// even one racing its original, never passes twice. BIGINT: counters above 2^63 − 1 are refused.

import type { Migration } from './migrations.ts';

export const DEVICE_REQUESTS_MIGRATION: Migration = {
  version: 12,
  name: '012_device_requests',
  sql: `
ALTER TABLE devices ADD COLUMN last_request_counter BIGINT NOT NULL DEFAULT 0 CHECK (last_request_counter >= 0);
`,
};
