// Migration 006: issuance bound to the SE (DESIGN §3.1, issue 8 finding 1). Both books keep one
// issuance per (device, epoch) under a PRIMARY KEY, with the hash of the SE-signed request and the
// answer, so an identical retry gets the first answer and any other request is refused by the
// database itself, never by a read-then-write. The FI pins each device's K at enrolment (a UNIQUE
// column of devices; NULL only for devices enrolled before this migration, which cannot renew);
// the CB keeps its own pinned K and attestation key per device (cb_devices), so it can refuse a
// request a dishonest FI forwards for another K, or one the enrolled SE did not sign.

import type { Migration } from './migrations.ts';

export const BOUND_ISSUANCE_MIGRATION: Migration = {
  version: 6,
  name: '006_bound_issuance',
  sql: `
ALTER TABLE devices ADD COLUMN k_point BYTEA CHECK (k_point IS NULL OR length(k_point) = 48);
CREATE UNIQUE INDEX devices_k_point ON devices (k_point);
CREATE TABLE issuances (
  device_id BYTEA NOT NULL REFERENCES devices(device_id),
  epoch BIGINT NOT NULL CHECK (epoch >= 0),
  request_hash BYTEA NOT NULL CHECK (length(request_hash) = 32),
  tier BIGINT NOT NULL CHECK (tier >= 0 AND tier <= 255),
  response BYTEA NOT NULL,
  issuer_key_cert BYTEA NOT NULL,
  created_ms BIGINT NOT NULL,
  PRIMARY KEY (device_id, epoch)
);
CREATE TABLE cb_devices (
  device_id BYTEA PRIMARY KEY CHECK (length(device_id) = 16),
  fi_id TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  k_point BYTEA NOT NULL UNIQUE CHECK (length(k_point) = 48),
  attestation_key BYTEA NOT NULL CHECK (length(attestation_key) = 33),
  created_ms BIGINT NOT NULL
);
CREATE TABLE cb_issuances (
  device_id BYTEA NOT NULL REFERENCES cb_devices(device_id),
  epoch BIGINT NOT NULL CHECK (epoch >= 0),
  fi_id TEXT NOT NULL,
  request_hash BYTEA NOT NULL CHECK (length(request_hash) = 32),
  response BYTEA NOT NULL,
  issuer_key_cert BYTEA NOT NULL,
  created_ms BIGINT NOT NULL,
  PRIMARY KEY (device_id, epoch)
)`,
};
