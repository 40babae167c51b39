// Invariant checks. A failed assertion is a programmer error or a broken invariant, never bad
// input: it throws and is only caught at the process edge. Bad input gets a typed error instead.

export class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssertionError';
  }
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
