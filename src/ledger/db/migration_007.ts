// Migration 007: attribution that cannot be suppressed (DESIGN §3.4). The CB keeps which device
// uploaded each payment record and can look every record of one nullifier up at once (recovery is
// retried against all of them); an incident can name the payee that uploaded a same-context pair.
// Each FI keeps its own incidents: a device that uploaded a receipt naming another payee.

import type { Migration } from './migrations.ts';

export const ATTRIBUTION_MIGRATION: Migration = {
  version: 7,
  name: '007_attribution',
  sql: `
ALTER TABLE payment_evidence ADD COLUMN device_id BYTEA;
CREATE INDEX payment_evidence_by_nullifier ON payment_evidence (epoch, nullifier);
ALTER TABLE incidents ADD COLUMN uploader_fi_id TEXT;
ALTER TABLE incidents ADD COLUMN uploader_device_id BYTEA;
CREATE TABLE sync_incidents (
  id TEXT PRIMARY KEY,
  device_id BYTEA NOT NULL,
  customer_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('RECEIPT_NOT_FOR_UPLOADER', 'RECEIPT_UPLOADED_TWICE')),
  payment_hash BYTEA NOT NULL CHECK (length(payment_hash) = 32),
  detail TEXT NOT NULL,
  created_ms BIGINT NOT NULL
);
CREATE INDEX sync_incidents_by_customer ON sync_incidents (customer_id);
`,
};
