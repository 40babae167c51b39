// Public surface of the policy part.
export * from './limits.ts';
export * from './policy_codec.ts';
export * from './settlement.ts';
