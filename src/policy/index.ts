// Public surface of the policy part.
export * from './limits.ts';
