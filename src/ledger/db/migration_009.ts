// Migration 009: reconciliation of broken SEs (DESIGN §3.4 Contain). FI databases: every accepted
// sync batch keeps the SE-signed running totals it carried (the device's last accepted totals are
// those of its last batch), the credentials granted per (device, epoch), and the renewal gate (has
// the device synced since its newest credential?). CB databases: the discrepancy alarms the
// network audit raises when aggregate received exceeds aggregate spent beyond the in-flight bound.

import type { Migration } from './migrations.ts';

export const RECONCILIATION_MIGRATION: Migration = {
  version: 9,
  name: '009_reconciliation',
  sql: `
ALTER TABLE sync_batches ADD COLUMN loaded_total_minor BIGINT NOT NULL DEFAULT 0 CHECK (loaded_total_minor >= 0);
ALTER TABLE sync_batches ADD COLUMN received_total_minor BIGINT NOT NULL DEFAULT 0 CHECK (received_total_minor >= 0);
ALTER TABLE sync_batches ADD COLUMN received_pending_minor BIGINT NOT NULL DEFAULT 0 CHECK (received_pending_minor >= 0);
ALTER TABLE sync_batches ADD COLUMN spent_total_minor BIGINT NOT NULL DEFAULT 0 CHECK (spent_total_minor >= 0);
ALTER TABLE sync_batches ADD COLUMN unloaded_total_minor BIGINT NOT NULL DEFAULT 0 CHECK (unloaded_total_minor >= 0);
CREATE TABLE credential_grants (
  device_id BYTEA NOT NULL REFERENCES devices(device_id),
  epoch BIGINT NOT NULL CHECK (epoch >= 0),
  issuer_nonce BYTEA NOT NULL,
  created_ms BIGINT NOT NULL,
  PRIMARY KEY (device_id, epoch)
);
CREATE TABLE renewal_gate (
  device_id BYTEA PRIMARY KEY REFERENCES devices(device_id),
  synced_since_grant BIGINT NOT NULL CHECK (synced_since_grant IN (0, 1)),
  updated_ms BIGINT NOT NULL
);
CREATE TABLE discrepancy_alarms (
  alarm_key BYTEA PRIMARY KEY CHECK (length(alarm_key) = 32),
  received_minor BIGINT NOT NULL CHECK (received_minor >= 0),
  spent_minor BIGINT NOT NULL CHECK (spent_minor >= 0),
  booked_minor BIGINT NOT NULL CHECK (booked_minor >= 0),
  in_flight_bound_minor BIGINT NOT NULL CHECK (in_flight_bound_minor >= 0),
  excess_minor BIGINT NOT NULL CHECK (excess_minor > 0),
  raised_ms BIGINT NOT NULL
)`,
};
