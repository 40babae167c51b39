// Migration 004: everything the offline side of the ledger stores. One schema serves both books
// (a CB database leaves the FI tables empty and the other way round), as for 001–003.
//
// CB book: two new account kinds. `cb_circulation` (≥ 0) is the value held inside SEs, a CB
// liability like cash; `cb_incident` (≤ 0) books value a double spend created, so the totals stay
// exact. CB tables: the K registry (K → FI, customer, device), payment evidence (the record each
// registered nullifier came with), incidents, blocked customers, revocation entries, policies.
// FI tables: devices (attested key, counters, last report), the FI's own K registry, issuance
// nonces, load vouchers, unload records, sync batches and the receipts they carried.
// Bytes columns carry length CHECKs where the length is fixed by the protocol.

import type { Migration } from './migrations.ts';

export const OFFLINE_MIGRATION: Migration = {
  version: 4,
  name: '004_offline',
  sql: `
INSERT INTO account_kinds (kind, sign_rule) VALUES
  ('cb_circulation', 'non_negative'),
  ('cb_incident', 'non_positive');
CREATE TABLE devices (
  device_id BYTEA PRIMARY KEY CHECK (length(device_id) = 16),
  customer_id TEXT NOT NULL REFERENCES customers(id),
  account_id TEXT NOT NULL REFERENCES accounts(id),
  public_key BYTEA NOT NULL UNIQUE CHECK (length(public_key) = 33),
  device_class BIGINT NOT NULL CHECK (device_class >= 0 AND device_class <= 255),
  tier BIGINT NOT NULL CHECK (tier >= 0 AND tier <= 255),
  manufacturer TEXT NOT NULL,
  certificate BYTEA NOT NULL,
  vouchers_issued BIGINT NOT NULL DEFAULT 0 CHECK (vouchers_issued >= 0),
  unloads_applied BIGINT NOT NULL DEFAULT 0 CHECK (unloads_applied >= 0),
  last_batch_id BIGINT NOT NULL DEFAULT 0 CHECK (last_batch_id >= 0),
  reported_balance_minor BIGINT NOT NULL DEFAULT 0 CHECK (reported_balance_minor >= 0),
  reported_at_ms BIGINT,
  created_ms BIGINT NOT NULL
);
CREATE INDEX devices_customer ON devices (customer_id);
CREATE TABLE device_keys (
  k_point BYTEA PRIMARY KEY CHECK (length(k_point) = 48),
  device_id BYTEA NOT NULL REFERENCES devices(device_id),
  customer_id TEXT NOT NULL,
  epoch BIGINT NOT NULL,
  created_ms BIGINT NOT NULL
);
CREATE TABLE issuance_nonces (
  nonce BYTEA PRIMARY KEY,
  device_id BYTEA NOT NULL REFERENCES devices(device_id),
  epoch BIGINT NOT NULL,
  created_ms BIGINT NOT NULL
);
CREATE TABLE load_vouchers (
  device_id BYTEA NOT NULL REFERENCES devices(device_id),
  load_counter BIGINT NOT NULL CHECK (load_counter >= 0),
  account_id TEXT NOT NULL,
  amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
  voucher BYTEA NOT NULL,
  cb_done BIGINT NOT NULL DEFAULT 0 CHECK (cb_done IN (0, 1)),
  idempotency_key TEXT NOT NULL UNIQUE,
  created_ms BIGINT NOT NULL,
  PRIMARY KEY (device_id, load_counter)
);
CREATE TABLE unload_records (
  device_id BYTEA NOT NULL REFERENCES devices(device_id),
  unload_counter BIGINT NOT NULL CHECK (unload_counter >= 0),
  account_id TEXT NOT NULL,
  amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
  record BYTEA NOT NULL,
  cb_done BIGINT NOT NULL DEFAULT 0 CHECK (cb_done IN (0, 1)),
  created_ms BIGINT NOT NULL,
  PRIMARY KEY (device_id, unload_counter)
);
CREATE TABLE sync_batches (
  device_id BYTEA NOT NULL REFERENCES devices(device_id),
  batch_id BIGINT NOT NULL CHECK (batch_id >= 1),
  report_hash BYTEA NOT NULL CHECK (length(report_hash) = 32),
  receipt_count BIGINT NOT NULL CHECK (receipt_count >= 0),
  received_minor BIGINT NOT NULL CHECK (received_minor >= 0),
  balance_minor BIGINT NOT NULL CHECK (balance_minor >= 0),
  ack BYTEA NOT NULL,
  created_ms BIGINT NOT NULL,
  PRIMARY KEY (device_id, batch_id)
);
CREATE TABLE receipts (
  payment_hash BYTEA PRIMARY KEY CHECK (length(payment_hash) = 32),
  device_id BYTEA NOT NULL REFERENCES devices(device_id),
  batch_id BIGINT NOT NULL,
  epoch BIGINT NOT NULL,
  nullifier BYTEA NOT NULL CHECK (length(nullifier) = 48),
  outcome TEXT NOT NULL CHECK (outcome IN ('inserted', 'duplicate', 'conflict')),
  created_ms BIGINT NOT NULL
);
CREATE INDEX receipts_nullifier ON receipts (epoch, nullifier);
CREATE TABLE cb_device_keys (
  k_point BYTEA PRIMARY KEY CHECK (length(k_point) = 48),
  fi_id TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  device_id BYTEA NOT NULL,
  epoch BIGINT NOT NULL,
  created_ms BIGINT NOT NULL
);
CREATE TABLE payment_evidence (
  payment_hash BYTEA PRIMARY KEY CHECK (length(payment_hash) = 32),
  epoch BIGINT NOT NULL,
  nullifier BYTEA NOT NULL CHECK (length(nullifier) = 48),
  fi_id TEXT NOT NULL,
  record BYTEA NOT NULL,
  created_ms BIGINT NOT NULL
);
CREATE TABLE incidents (
  id TEXT PRIMARY KEY,
  epoch BIGINT NOT NULL,
  nullifier BYTEA NOT NULL,
  first_payment_hash BYTEA NOT NULL,
  second_payment_hash BYTEA NOT NULL,
  tier BIGINT NOT NULL,
  exposure_minor BIGINT NOT NULL CHECK (exposure_minor >= 0),
  k_point BYTEA,
  fi_id TEXT,
  customer_id TEXT,
  device_id BYTEA,
  created_ms BIGINT NOT NULL,
  UNIQUE (epoch, nullifier)
);
CREATE TABLE blocked_customers (
  fi_id TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  incident_id TEXT NOT NULL REFERENCES incidents(id),
  created_ms BIGINT NOT NULL,
  PRIMARY KEY (fi_id, customer_id)
);
CREATE TABLE revocation_entries (
  epoch BIGINT NOT NULL,
  nullifier BYTEA NOT NULL CHECK (length(nullifier) = 48),
  incident_id TEXT NOT NULL REFERENCES incidents(id),
  created_ms BIGINT NOT NULL,
  PRIMARY KEY (epoch, nullifier)
);
CREATE TABLE policies (
  version BIGINT PRIMARY KEY CHECK (version >= 1),
  body BYTEA NOT NULL,
  created_ms BIGINT NOT NULL
)`,
};
