// Migration 008: an index from each stored payment's escrow E1 to its payment hash (CB databases
// only). A partial decryption y_i·E1 opens every ciphertext with that E1, so before a key holder
// answers a warrant it must know whether any other stored payment shares the named payment's E1
// (escrow_evidence.ts); decoding every record for each warrant would not scale. The index is
// derived data, filled from payment_evidence by the disclosure code, so registration is unchanged.

import type { Migration } from './migrations.ts';

export const ESCROW_INDEX_MIGRATION: Migration = {
  version: 8,
  name: '008_escrow_index',
  sql: `
CREATE TABLE escrow_index (
  payment_hash BYTEA PRIMARY KEY CHECK (length(payment_hash) = 32),
  e1 BYTEA NOT NULL CHECK (length(e1) = 48)
);
CREATE INDEX escrow_index_e1 ON escrow_index (e1);
`,
};
