// Verification workers (verify/): the pool of worker threads that check payment proofs in
// batches for an FI's sync. What other parts may use; inside src/ledger files import by path.

export { VerifyPool, verifyChunkSize, type VerifyOutcome } from './verify_pool.ts';
export { type VerifyChunk, type VerifyChunkResult, type VerifyItem } from './verify_batch.ts';
