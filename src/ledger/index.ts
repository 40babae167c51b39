// Public surface of the ledger part: the CB and FI books, their HTTP apps, storage adapters,
// migrations, the nullifier registry, the audit and the FI→FI transfer saga.
export * from './accounts.ts';
export * from './audit.ts';
export * from './cb.ts';
export * from './codec.ts';
export * from './context.ts';
export * from './customers.ts';
export * from './db/adapter.ts';
export * from './db/migrations.ts';
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
