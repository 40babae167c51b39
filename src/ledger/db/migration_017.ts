// Migration 017: the warrant workflow across sessions (docs/compliance.md, cb/warrants.ts). Every
// node database: operators gains the `key-holder` role and the holder index i it answers for (a
// key holder names exactly one index, no other role names one); SQLite cannot change a CHECK in
// place, so the table is rebuilt with its rows. CB databases: a key holder's typed refusal of a
// warrant, at most one per holder and warrant, next to the partials of warrant_partials.

import type { Migration } from './migrations.ts';

export const KEY_HOLDER_MIGRATION: Migration = {
  version: 17,
  name: '017_key_holders',
  sql: `
CREATE TABLE operators_rebuilt (
  operator_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('cb-operator', 'fi-operator', 'auditor', 'regulator', 'customer', 'key-holder')),
  customer_id TEXT,
  token_hash BYTEA NOT NULL UNIQUE CHECK (length(token_hash) = 32),
  created_ms BIGINT NOT NULL,
  revoked_ms BIGINT,
  holder_index BIGINT CHECK (holder_index >= 1 AND holder_index <= 255),
  CHECK ((role = 'customer') = (customer_id IS NOT NULL)),
  CHECK ((role = 'key-holder') = (holder_index IS NOT NULL))
);
INSERT INTO operators_rebuilt (operator_id, name, role, customer_id, token_hash, created_ms, revoked_ms, holder_index)
  SELECT operator_id, name, role, customer_id, token_hash, created_ms, revoked_ms, NULL FROM operators;
DROP TABLE operators;
ALTER TABLE operators_rebuilt RENAME TO operators;
CREATE TABLE warrant_refusals (
  warrant_id TEXT NOT NULL REFERENCES warrants(warrant_id),
  holder_index BIGINT NOT NULL CHECK (holder_index >= 1 AND holder_index <= 255),
  reason TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  PRIMARY KEY (warrant_id, holder_index)
);
`,
};
