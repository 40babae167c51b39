// Entry point of a verification worker thread: receives chunks of payment records, answers with
// verifyChunk's result. Loading the curve engine takes a moment, so the pool keeps workers alive.

import { parentPort } from 'node:worker_threads';
import { verifyChunk, type VerifyChunk } from './verify_batch.ts';

const port = parentPort;
if (port === null) throw new Error('verify_worker.ts must run as a worker thread');
port.on('message', (msg: { id: number; chunk: VerifyChunk }) => {
  try {
    port.postMessage({ id: msg.id, result: verifyChunk(msg.chunk) });
  } catch (e) {
    port.postMessage({ id: msg.id, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
});
