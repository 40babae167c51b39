// Public surface of the secure-element part: the applet and its NVM, the APDU codec, the command
// table and client, status words, the signed messages an SE exchanges with its institutions, and
// the SE-side limit checks the payment commands build on.
export * from './apdu.ts';
export * from './status.ts';
export * from './nvm.ts';
export * from './private_files.ts';
export * from './cbor.ts';
export * from './schema.ts';
export * from './signed.ts';
export * from './messages.ts';
export * from './request_signature.ts';
export * from './constants.ts';
export * from './state.ts';
export * from './enforce.ts';
export * from './commands.ts';
export * from './handler.ts';
export * from './applet.ts';
export * from './client.ts';
export * from './payment_inputs.ts';
export { receiptLogDigest } from './handlers_sync.ts';
export * from './payment_limits.ts';
export * from './payment_commands.ts';
export * from './unconfirmed_commands.ts';
export * from './reclaim_messages.ts';
export { PAYMENT_HANDLERS } from './handlers_payment.ts';
