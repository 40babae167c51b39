// Migration 011: who may call a node, and what they did (issue 11, src/ledger/access/gate.ts). Every
// node database, CB and FI alike: the node's operators — staff in a role, or a customer — each
// with the SHA-256 of a 256-bit random token secret (the token itself is shown once, when it is
// made, and never stored); and the admin log, append-only and hash-chained: each entry's hash
// covers the previous entry's hash, and the head row (made by the first append) holds the last one, locked by each append.

import type { Migration } from './migrations.ts';

export const ACCESS_MIGRATION: Migration = {
  version: 11,
  name: '011_access',
  sql: `
CREATE TABLE operators (
  operator_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('cb-operator', 'fi-operator', 'auditor', 'regulator', 'customer')),
  customer_id TEXT,
  token_hash BYTEA NOT NULL UNIQUE CHECK (length(token_hash) = 32),
  created_ms BIGINT NOT NULL,
  revoked_ms BIGINT,
  CHECK ((role = 'customer') = (customer_id IS NOT NULL))
);
CREATE TABLE admin_log (
  seq BIGINT PRIMARY KEY CHECK (seq >= 1),
  at_ms BIGINT NOT NULL,
  operator_id TEXT NOT NULL,
  role TEXT NOT NULL,
  action TEXT NOT NULL,
  detail TEXT NOT NULL,
  status BIGINT NOT NULL,
  code TEXT,
  prev_hash BYTEA NOT NULL CHECK (length(prev_hash) = 32),
  entry_hash BYTEA NOT NULL CHECK (length(entry_hash) = 32)
);
CREATE TABLE admin_log_head (
  id BIGINT PRIMARY KEY CHECK (id = 1),
  seq BIGINT NOT NULL,
  entry_hash BYTEA NOT NULL CHECK (length(entry_hash) = 32)
);
`,
};
