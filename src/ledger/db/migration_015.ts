// Migration 015: freeze and unfreeze with their offline effect (docs/compliance.md, Freeze).
// fi_freeze_log: every freeze and unfreeze an FI applied, with its reason and operator; only ever
// inserted into, numbered in order (the customers row holds the current flag). cb_device_revocations: the attestation
// keys of devices whose customer is frozen, which the CB puts on every signed revocation list and
// refuses credentials to; a row is removed at unfreeze. cb_device_revocation_log: one row per key
// added or removed, only ever inserted into; its count is part of the list version, so every change
// gives a list with a greater version that an SE will install.

import type { Migration } from './migrations.ts';

export const FREEZE_MIGRATION: Migration = {
  version: 15,
  name: '015_freeze',
  sql: `
CREATE TABLE fi_freeze_log (
  seq BIGINT PRIMARY KEY CHECK (seq >= 1),
  customer_id TEXT NOT NULL REFERENCES customers(id),
  frozen BIGINT NOT NULL CHECK (frozen IN (0, 1)),
  reason TEXT NOT NULL CHECK (length(reason) >= 1 AND length(reason) <= 500),
  operator_id TEXT NOT NULL,
  at_ms BIGINT NOT NULL
);
CREATE INDEX fi_freeze_log_by_customer ON fi_freeze_log (customer_id, at_ms);
CREATE TABLE cb_device_revocations (
  attestation_key BYTEA PRIMARY KEY CHECK (length(attestation_key) = 33),
  device_id BYTEA NOT NULL REFERENCES cb_devices(device_id),
  fi_id TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  created_ms BIGINT NOT NULL
);
CREATE TABLE cb_device_revocation_log (
  id TEXT PRIMARY KEY,
  attestation_key BYTEA NOT NULL CHECK (length(attestation_key) = 33),
  device_id BYTEA NOT NULL,
  fi_id TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  revoked BIGINT NOT NULL CHECK (revoked IN (0, 1)),
  at_ms BIGINT NOT NULL
);
`,
};
