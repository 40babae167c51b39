// Public surface of the ledger part: the CB and FI books, their HTTP apps, storage adapters,
// migrations, the nullifier registry, the audit and the FI→FI transfer saga; and the offline side
// (docs/ledger.md): CentralBank, FinancialIntermediary, sync, incidents, distribution, the
// network audit, the device-host sync helpers, HTTP routes and clients, and the servers.
export * from './accounts.ts';
export * from './audit.ts';
export * from './cb.ts';
export * from './codec.ts';
export * from './context.ts';
export * from './customers.ts';
export * from './db/adapter.ts';
export * from './db/migrations.ts';
export * from './db/partition.ts';
export * from './db/postgres.ts';
export * from './db/sqlite.ts';
export * from './errors.ts';
export * from './fi.ts';
export * from './idempotency.ts';
export * from './journal.ts';
export * from './limits.ts';
export * from './nullifiers.ts';
export * from './service.ts';
export * from './transfer.ts';
export * from './db/open.ts';
export * from './serve.ts';
export * from './central_bank.ts';
export * from './device_sync.ts';
export * from './devices.ts';
export * from './distribution.ts';
export * from './financial_intermediary.ts';
export type { IssuanceStart, IssuedCredential } from './fi_issuance.ts';
export * from './fi_value.ts';
export * from './incidents.ts';
export * from './issuer_keys.ts';
export * from './moves.ts';
export * from './network_audit.ts';
export * from './exposure.ts';
export * from './flows.ts';
export * from './report_totals.ts';
export * from './renewal_gate.ts';
export * from './payment_records.ts';
export * from './sync.ts';
export * from './verify_pool.ts';
export type { VerifyItem, VerifyChunk, VerifyChunkResult } from './verify_batch.ts';
export * from './offline_routes.ts';
export * from './offline_client.ts';
export * from './cb_client.ts';
export * from './serve_offline.ts';
export * from './disclosure.ts';
