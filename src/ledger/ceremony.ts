// The key ceremony of a demo network: every institution's keys dealt in one place, so that
// `tally network init` and the in-process demo (src/sim/network.ts) build the same kind of network
// the same way: a manufacturer CA, the CB's signing key and issuer master secret, each FI's signing
// key, and the regulator's escrow key dealt 2-of-3 (only its public key goes to the CB; each share
// is a holder's). A real network never deals these together: each institution generates its own
// keys in its own HSM and publishes only the public halves. Keys come from the system CSPRNG; only
// tests and the seeded simulator pass another `rng`. The file format lives in src/cli/network_config.ts.

import { assert } from '../crypto/assert.ts';
import { dealRegulatorKey, systemRng, type RegulatorKey, type Rng } from '../crypto/index.ts';
import { p256KeyPair, type P256KeyPair } from '../se/index.ts';
import { FI_ID_PATTERN } from './context.ts';
import { LedgerError, LedgerErrorCode } from './errors.ts';
import type { EscrowAuthority } from './cb/disclosure.ts';

export const REGULATOR_THRESHOLD = 2;
export const REGULATOR_HOLDERS = 3;
/** The manufacturer name the demo CA certifies SEs under (the FIs' manufacturer table key). */
export const DEMO_MANUFACTURER = 'tally-demo-fab';
/** Bytes of the CB's issuer master secret (the seed of every epoch's BBS issuer key). */
export const ISSUER_MASTER_BYTES = 32;
/** How many FIs one ceremony deals: each is a signing key and a book, and a node in the demo. */
export const CEREMONY_FIS_MAX = 64;

/** Whether `id` is a well-formed FI id: lower-case letters, digits and '-', at most 32 characters. */
export const isFiId = (id: string): boolean => FI_ID_PATTERN.test(id);

export interface NetworkFi {
  fiId: string;
  signingKey: P256KeyPair;
  /** Money the CB issues to this FI's reserve (and the FI to its treasury) when the network starts. */
  allocationMinor: bigint;
}

/** Every institution's keys: what the CB, the FIs and the manufacturer each hold. */
export interface NetworkKeys {
  manufacturer: { name: string; keys: P256KeyPair };
  /** `escrowAuthority`: the holders' public verification keys and quorum, for the CB's warrant checks. */
  cb: { signingKey: P256KeyPair; issuerMaster: Uint8Array; regulatorKey: Uint8Array; escrowAuthority?: EscrowAuthority };
  fis: NetworkFi[];
}

export interface DealtNetwork {
  network: NetworkKeys;
  /** The regulator escrow key and its holders' shares (each goes to its own holder). */
  regulator: RegulatorKey;
}

function checkFiIds(fiIds: readonly string[]): void {
  if (fiIds.length === 0 || fiIds.length > CEREMONY_FIS_MAX) {
    throw new LedgerError(LedgerErrorCode.badRequest, `a network needs 1 to ${CEREMONY_FIS_MAX} FIs, got ${fiIds.length}`);
  }
  for (const id of fiIds) {
    if (!isFiId(id)) throw new LedgerError(LedgerErrorCode.badRequest, `FI ids must be lower-case letters, digits and '-', got '${id}'`);
  }
  if (new Set(fiIds).size !== fiIds.length) throw new LedgerError(LedgerErrorCode.badRequest, `FI ids must be distinct, got ${fiIds.join(', ')}`);
}

/** Deals every key of a demo network from the system CSPRNG; only a test or the simulator injects another `rng`. */
export function dealNetwork(opts: { fiIds: readonly string[]; allocationMinor: bigint; rng?: Rng }): DealtNetwork {
  checkFiIds(opts.fiIds);
  if (opts.allocationMinor < 0n) throw new LedgerError(LedgerErrorCode.amountInvalid, `an FI's allocation must be at least 0, got ${opts.allocationMinor}`);
  const rng: Rng = opts.rng ?? systemRng;
  const regulator = dealRegulatorKey({ threshold: REGULATOR_THRESHOLD, holders: REGULATOR_HOLDERS, rng });
  const network: NetworkKeys = {
    manufacturer: { name: DEMO_MANUFACTURER, keys: p256KeyPair(rng) },
    cb: {
      signingKey: p256KeyPair(rng), issuerMaster: rng(ISSUER_MASTER_BYTES), regulatorKey: regulator.publicKey.toBytes(),
      escrowAuthority: { threshold: regulator.threshold, verificationKeys: regulator.shares.map((x) => x.verificationKey) },
    },
    fis: opts.fiIds.map((fiId) => ({ fiId, signingKey: p256KeyPair(rng), allocationMinor: opts.allocationMinor })),
  };
  assert(network.fis.length === opts.fiIds.length && regulator.shares.length === REGULATOR_HOLDERS, 'dealNetwork: one key per FI and one share per holder');
  assert(network.cb.issuerMaster.length === ISSUER_MASTER_BYTES, `dealNetwork: issuer master of ${network.cb.issuerMaster.length} bytes`);
  return { network, regulator };
}
