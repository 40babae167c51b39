// Migration 014: the remaining AML/CFT rule kinds (issue 12, src/compliance/evaluate.ts).
// compliance_events gains the device of a fund, defund or sync (device.new_activity and
// velocity.devices count per device) and a sync's spent-since-last-sync from its balance report
// (an aggregate the report states, DESIGN §3.3). compliance_alerts gains `holds`: a hard or soft
// hit at sync or defunding (after the fact: the value already left the SE) holds the customer's
// loads and credential renewals until the alert is resolved or overridden.

import type { Migration } from './migrations.ts';

export const RULE_KINDS_MIGRATION: Migration = {
  version: 14,
  name: '014_rule_kinds',
  sql: `
ALTER TABLE compliance_events ADD COLUMN device_id TEXT;
ALTER TABLE compliance_events ADD COLUMN spent_minor BIGINT NOT NULL DEFAULT 0 CHECK (spent_minor >= 0);
ALTER TABLE compliance_alerts ADD COLUMN holds BIGINT NOT NULL DEFAULT 0 CHECK (holds IN (0, 1));
`,
};
