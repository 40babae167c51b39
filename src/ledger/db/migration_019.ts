// Migration 019: freezes written before freezes were chained into the compliance log. Until then
// `FiLedger.setFrozen` wrote its `fi_freeze_log` row alone; now the chained compliance log carries
// every freeze too, and its check holds each row against its entry, so the rows of an upgraded
// database would read as broken. The migration only marks how far those old rows go (SQL cannot
// compute the chain's hashes); the FI's first open after it appends one chained entry per marked
// row, in order, and sets `done` (compliance_log.ts, chainLegacyFreezes). A row added later cannot
// pass for an old one: its seq is above the mark. A fresh database marks 0 rows.

import type { Migration } from './migrations.ts';

export const FREEZE_CHAIN_MIGRATION: Migration = {
  version: 19,
  name: '019_freeze_chain_backfill',
  sql: `
CREATE TABLE fi_freeze_chain_backfill (
  id BIGINT PRIMARY KEY CHECK (id = 1),
  through_seq BIGINT NOT NULL CHECK (through_seq >= 0),
  done BIGINT NOT NULL CHECK (done IN (0, 1))
);
INSERT INTO fi_freeze_chain_backfill (id, through_seq, done) SELECT 1, COALESCE(MAX(seq), 0), 0 FROM fi_freeze_log;
`,
};
