// Layout of a Tally device credential: a BBS signature (draft ciphersuite BLS12-381-SHA-256) over
// five scalar messages. DESIGN §3.1 lists the first four; index 4 holds the blinding scalar of blind
// issuance (s = s' + s''), which makes the holder's commitment k·H_0 + s'·H_4 perfectly hiding and
// is never disclosed. The header binds every credential to this use, so a Tally credential cannot be
// presented as any other BBS credential from the same key.

export const CREDENTIAL_HEADER = new TextEncoder().encode('TALLY-V1/credential');
export const CREDENTIAL_MESSAGE_COUNT = 5;

export const CredentialIndex = {
  /** Device secret k, hidden always. */
  k: 0,
  /** Epoch number e, disclosed. */
  epoch: 1,
  /** Policy tier t, disclosed. */
  tier: 2,
  /** Device class c, disclosed. */
  deviceClass: 3,
  /** Issuance blinding s, hidden always. */
  sBlind: 4,
} as const;
