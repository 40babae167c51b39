// Loaded before every test file (`npm test` passes it with --import): gives fast-check one seed for
// the whole run, so CI is reproducible and a failure replays exactly. FC_SEED=<number> picks a
// seed; FC_SEED=random draws one and prints it (for exploring beyond the pinned seed).

import fc from 'fast-check';

const requested = process.env.FC_SEED;
const seed = requested === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(requested ?? 20261126);
if (!Number.isInteger(seed)) throw new Error(`FC_SEED must be an integer or 'random', got '${requested}'`);
if (requested === 'random') process.stderr.write(`fast-check seed: ${seed} (replay with FC_SEED=${seed})\n`);
fc.configureGlobal({ seed });
