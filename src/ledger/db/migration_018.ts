// Migration 018: incident draws (docs/ledger.md "Double spends"). When a move out of circulation
// (an unload, a reclaim) would take cb:circulation below zero, the CB covers the shortfall from
// cb:incident, up to the outstanding exposure L × cap(t) of incidents not yet booked, and records
// each draw against the incidents it is charged to. `incidents.booked_minor` is the value a
// booking stated for the incident (NULL: not booked yet, so it can still be drawn on); a booking
// counts what was drawn and moves only the rest. Every node database carries the tables; only
// the CB writes them.

import type { Migration } from './migrations.ts';

export const INCIDENT_DRAW_MIGRATION: Migration = {
  version: 18,
  name: '018_incident_draws',
  sql: `
ALTER TABLE incidents ADD COLUMN booked_minor BIGINT CHECK (booked_minor IS NULL OR booked_minor > 0);
CREATE TABLE incident_draws (
  journal_key TEXT NOT NULL,
  incident_id TEXT NOT NULL REFERENCES incidents(id),
  transaction_id TEXT NOT NULL,
  amount_minor BIGINT NOT NULL CHECK (amount_minor <> 0),
  created_ms BIGINT NOT NULL,
  PRIMARY KEY (journal_key, incident_id)
);
CREATE INDEX incident_draws_incident ON incident_draws (incident_id);
`,
};
