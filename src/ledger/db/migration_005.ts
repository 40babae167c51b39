// Migration 005: regulator disclosure (disclosure.ts): warrants, the partial decryptions accepted
// for them, and the hash-chained log of every disclosure step. CB databases only.

import type { Migration } from './migrations.ts';

export const DISCLOSURE_MIGRATION: Migration = {
  version: 5,
  name: '005_disclosure',
  sql: `
CREATE TABLE warrants (
  warrant_id TEXT PRIMARY KEY,
  payment_hash BYTEA NOT NULL CHECK (length(payment_hash) = 32),
  authority TEXT NOT NULL,
  reason TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open', 'disclosed')),
  created_ms BIGINT NOT NULL
);
CREATE TABLE warrant_partials (
  warrant_id TEXT NOT NULL REFERENCES warrants(warrant_id),
  holder_index BIGINT NOT NULL CHECK (holder_index >= 1 AND holder_index <= 255),
  partial BYTEA NOT NULL,
  created_ms BIGINT NOT NULL,
  PRIMARY KEY (warrant_id, holder_index)
);
CREATE TABLE disclosure_log (
  seq BIGINT PRIMARY KEY CHECK (seq >= 1),
  prev_hash BYTEA NOT NULL CHECK (length(prev_hash) = 32),
  entry_hash BYTEA NOT NULL UNIQUE CHECK (length(entry_hash) = 32),
  warrant_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('warrant', 'partial', 'refused', 'disclosed')),
  body TEXT NOT NULL,
  created_ms BIGINT NOT NULL
);
`,
};

