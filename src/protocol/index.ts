// Public surface of the protocol part: wire limits, deterministic CBOR, the three messages and
// their codecs, the session crypto and payment context, the transports and the link model.
// The payer/payee state machines build on these. Only re-exports live here.
export * from './limits.ts';
export * from './wire_error.ts';
export { decodeCanonical, encodeCanonical, type CborValue, type DecodeLimits } from './cbor.ts';
export * from './messages.ts';
export * from './session_keys.ts';
export * from './session.ts';
export * from './transport.ts';
export { memoryLinkPair, MEMORY_LINK_FRAME_BYTES_MAX } from './memory_link.ts';
export { memoryTransport } from './memory_transport.ts';
export { nfcTransport, nfcFrames } from './framing_nfc.ts';
export { bleTransport, bleWrites, negotiateBleMtu } from './framing_ble.ts';
export { tcpConnect, tcpListen, tcpTransport, type TcpListener } from './transport_tcp.ts';
export * from './link_model.ts';
export * from './exchange.ts';
export * from './payer.ts';
export * from './payee.ts';
