// Migration 010: reclaim of payments their payee never settled (issue 9, src/ledger/fi/reclaim.ts).
// FI databases: the SE-signed claims a payer's device filed at sync, with the record and the
// opening it carried, and what became of each (pending until the settlement window ends, then
// credited back to the payer's account once, or settled because a payee uploaded it). CB
// databases: the registry of reclaimed nullifiers (also put in the nullifier registry, so a claim
// and a payee's settlement of the same nullifier serialise on UNIQUE(epoch, nullifier)); the
// signed revocation list carries them. FI databases again: what a payee that had credited a
// reclaimed payment (and synced after the window) is charged for it — from its owner's account
// as far as it covers, the rest booked as incident value at the CB — with its CB leg's state.

import type { Migration } from './migrations.ts';

export const RECLAIM_MIGRATION: Migration = {
  version: 10,
  name: '010_reclaim',
  sql: `
CREATE TABLE reclaim_claims (
  record_hash BYTEA PRIMARY KEY CHECK (length(record_hash) = 32),
  payment_hash BYTEA NOT NULL CHECK (length(payment_hash) = 32),
  device_id BYTEA NOT NULL,
  account_id TEXT NOT NULL,
  epoch BIGINT NOT NULL CHECK (epoch >= 0),
  nullifier BYTEA NOT NULL CHECK (length(nullifier) = 48),
  amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
  window_end_ms BIGINT NOT NULL CHECK (window_end_ms >= 0),
  status TEXT NOT NULL CHECK (status IN ('pending', 'credited', 'settled')),
  claim BYTEA NOT NULL,
  record BYTEA NOT NULL,
  created_ms BIGINT NOT NULL,
  decided_ms BIGINT
);
CREATE INDEX reclaim_claims_device ON reclaim_claims (device_id, status);
CREATE TABLE reclaims (
  epoch BIGINT NOT NULL CHECK (epoch >= 0),
  nullifier BYTEA NOT NULL CHECK (length(nullifier) = 48),
  payment_hash BYTEA NOT NULL CHECK (length(payment_hash) = 32),
  fi_id TEXT NOT NULL,
  amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
  created_ms BIGINT NOT NULL,
  PRIMARY KEY (epoch, nullifier)
);
CREATE TABLE reclaim_charges (
  record_hash BYTEA PRIMARY KEY CHECK (length(record_hash) = 32),
  device_id BYTEA NOT NULL,
  batch_id BIGINT NOT NULL CHECK (batch_id >= 1),
  account_id TEXT NOT NULL,
  amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
  account_minor BIGINT NOT NULL CHECK (account_minor >= 0),
  incident_minor BIGINT NOT NULL CHECK (incident_minor >= 0),
  decided BIGINT NOT NULL CHECK (decided IN (0, 1)),
  cb_done BIGINT NOT NULL CHECK (cb_done IN (0, 1)),
  created_ms BIGINT NOT NULL,
  CHECK (decided = 0 OR account_minor + incident_minor = amount_minor),
  CHECK (cb_done = 0 OR decided = 1)
)`,
};
