// Migration 021: the console's paged lists read in index order. The customers list pages by
// (created_ms, id) and the devices list by (created_ms, device_id) (console/views.ts,
// console/devices_view.ts); without an index each page sorted the FI's whole table, so paging
// through an FI of a million customers cost a full sort per page. With these a page is an index
// range scan from its cursor.

import type { Migration } from './migrations.ts';

export const CONSOLE_PAGING_MIGRATION: Migration = {
  version: 21,
  name: '021_console_paging_indexes',
  sql: `
CREATE INDEX customers_created ON customers (created_ms, id);
CREATE INDEX devices_created ON devices (created_ms, device_id);
`,
};
