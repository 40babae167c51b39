// A standalone presentation of a device credential: "I hold a valid, unexpired Tally credential of
// epoch e, tier t, device class c", with k and the issuance blinding hidden, bound to a context
// (for the payee's PaymentRequest: its nonce and session key). This is how a payer knows it is
// paying a genuine device before it sends value. It reuses the composable BBS presentation with
// a Tally transcript; nothing in it links two presentations of the same credential.
//
// Encoding (fixed, 410 bytes): epoch u64 | tier u8 | class u8 | Abar Bbar D T1 T2 | e^ r1^ r3^ m^_k m^_s.

import { EquationBatch } from './batch.ts';
import {
  BBS_COMMITMENT_BYTES,
  appendBbsCommitment,
  appendBbsStatement,
  bbsCommitmentFromBytes,
  bbsCommitmentToBytes,
  bbsPresentationCommit,
  bbsPresentationEquations,
  bbsPresentationRespond,
  bbsResponsesBytes,
  bbsResponsesFromBytes,
  bbsResponsesToBytes,
  type BbsCommitment,
  type BbsResponses,
} from './bbs_presentation.ts';
import { CryptoDecodeError, G2Point, concatBytes } from './group.ts';
import type { Rng } from './rng.ts';
import { Transcript } from './transcript.ts';
import { CREDENTIAL_HEADER, CREDENTIAL_MESSAGE_COUNT, CredentialIndex } from './credential.ts';
import type { Credential } from './payment.ts';

export const CREDENTIAL_PROOF_PROTOCOL = 'TALLY-V1/credential-proof';
const HIDDEN_COUNT = 2;
const HEADER_BYTES = 10;
export const CREDENTIAL_PROOF_BYTES = HEADER_BYTES + BBS_COMMITMENT_BYTES + bbsResponsesBytes(HIDDEN_COUNT);
/** Bound on the context a verifier hashes. */
export const CREDENTIAL_PROOF_CONTEXT_BYTES_MAX = 256;

export interface CredentialProof {
  epoch: bigint;
  tier: number;
  deviceClass: number;
  commitment: BbsCommitment;
  responses: BbsResponses;
}

const DISCLOSED = [CredentialIndex.epoch, CredentialIndex.tier, CredentialIndex.deviceClass];

function disclosed(p: { epoch: bigint; tier: number; deviceClass: number }): Map<number, bigint> {
  return new Map([
    [CredentialIndex.epoch, p.epoch],
    [CredentialIndex.tier, BigInt(p.tier)],
    [CredentialIndex.deviceClass, BigInt(p.deviceClass)],
  ]);
}

function transcriptFor(issuerKey: G2Point, context: Uint8Array, p: { epoch: bigint; tier: number; deviceClass: number }): Transcript {
  const t = new Transcript(CREDENTIAL_PROOF_PROTOCOL);
  t.appendBytes('context', context);
  appendBbsStatement(t, { publicKey: issuerKey, header: CREDENTIAL_HEADER, messageCount: CREDENTIAL_MESSAGE_COUNT, disclosed: disclosed(p) });
  return t;
}

export function proveCredential(args: { issuerKey: G2Point; credential: Pick<Credential, 'signature' | 'messages'>; context: Uint8Array; rng: Rng }): CredentialProof {
  const m = args.credential.messages;
  const attrs = { epoch: m[CredentialIndex.epoch]!, tier: Number(m[CredentialIndex.tier]!), deviceClass: Number(m[CredentialIndex.deviceClass]!) };
  const t = transcriptFor(args.issuerKey, args.context, attrs);
  const { commitment, state } = bbsPresentationCommit({
    publicKey: args.issuerKey,
    signature: args.credential.signature,
    header: CREDENTIAL_HEADER,
    messages: m,
    disclosedIndexes: DISCLOSED,
    rng: args.rng,
  });
  appendBbsCommitment(t, commitment);
  const responses = bbsPresentationRespond(state, t.challengeScalar('credential.c'));
  return { ...attrs, commitment, responses };
}

/** Equations of a credential proof, or null when it is malformed; never throws. */
export function credentialProofEquations(issuerKey: G2Point, proof: CredentialProof, context: Uint8Array): EquationBatch | null {
  if (context.length > CREDENTIAL_PROOF_CONTEXT_BYTES_MAX) return null;
  try {
    const t = transcriptFor(issuerKey, context, proof);
    appendBbsCommitment(t, proof.commitment);
    const c = t.challengeScalar('credential.c');
    const eqs = bbsPresentationEquations({
      publicKey: issuerKey,
      header: CREDENTIAL_HEADER,
      messageCount: CREDENTIAL_MESSAGE_COUNT,
      disclosed: disclosed(proof),
      commitment: proof.commitment,
      responses: proof.responses,
      c,
    });
    if (!eqs.structural) return null;
    const batch = new EquationBatch();
    eqs.msm.forEach((e) => batch.addMsm(e));
    batch.addPairing(eqs.pairing);
    return batch;
  } catch {
    return null;
  }
}

export function verifyCredential(args: { issuerKey: G2Point; proof: CredentialProof; context: Uint8Array; rng: Rng }): boolean {
  const batch = credentialProofEquations(args.issuerKey, args.proof, args.context);
  return batch !== null && batch.check(args.rng);
}

export function encodeCredentialProof(p: CredentialProof): Uint8Array {
  const header = new Uint8Array(HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setBigUint64(0, p.epoch);
  view.setUint8(8, p.tier);
  view.setUint8(9, p.deviceClass);
  return concatBytes(header, bbsCommitmentToBytes(p.commitment), bbsResponsesToBytes(p.responses));
}

/** Strict decode; throws CryptoDecodeError. */
export function decodeCredentialProof(bytes: Uint8Array): CredentialProof {
  if (bytes.length !== CREDENTIAL_PROOF_BYTES) {
    throw new CryptoDecodeError('LENGTH', `credential proof must be ${CREDENTIAL_PROOF_BYTES} bytes, got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    epoch: view.getBigUint64(0),
    tier: view.getUint8(8),
    deviceClass: view.getUint8(9),
    commitment: bbsCommitmentFromBytes(bytes.subarray(HEADER_BYTES, HEADER_BYTES + BBS_COMMITMENT_BYTES)),
    responses: bbsResponsesFromBytes(bytes.subarray(HEADER_BYTES + BBS_COMMITMENT_BYTES), HIDDEN_COUNT),
  };
}
