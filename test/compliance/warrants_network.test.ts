// The network file carries the escrow key holders' public verification keys and quorum (cb.escrow),
// so a CB started from it (`tally serve --network --role cb`) checks partials and discloses: the
// keys written by a dealing read back as dealt, a file without them still reads (the CB then
// refuses warrants), and malformed keys or quorums are refused by name.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { CliError } from '../../src/cli/args.ts';
import { dealNetworkConfig, networkToJson, readNetwork } from '../../src/cli/network_config.ts';
import { tlsLayout } from '../../src/cli/network_tls.ts';

function withFile<T>(value: unknown, fn: (file: string) => T): T {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tally-warrants-network-'));
  try {
    const file = path.join(dir, 'network.json');
    writeFileSync(file, JSON.stringify(value));
    return fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the network file round-trips the holders\' verification keys and refuses malformed ones', () => {
  const { config, regulator } = dealNetworkConfig({ fiIds: ['bank-a'], allocationMinor: 100n, tls: tlsLayout(['bank-a']) });
  const json = networkToJson(config) as { cb: Record<string, unknown> };
  const read = withFile(json, readNetwork);
  assert.equal(read.cb.escrowAuthority?.threshold, regulator.threshold);
  assert.deepEqual(read.cb.escrowAuthority?.verificationKeys.map((k) => bytesToHex(k.toBytes())), regulator.shares.map((s) => bytesToHex(s.verificationKey.toBytes())));
  const { escrow: _, ...withoutEscrow } = json.cb;
  assert.equal(withFile({ ...json, cb: withoutEscrow }, readNetwork).cb.escrowAuthority, undefined);
  const escrow = json.cb['escrow'] as { threshold: number; verificationKeys: string[] };
  for (const [bad, message] of [
    [{ ...escrow, threshold: 4 }, /threshold must be 1\.\.3/],
    [{ ...escrow, threshold: 0 }, /threshold must be 1\.\.3/],
    [{ ...escrow, verificationKeys: [] }, /list of 1\.\.255 keys/],
    [{ ...escrow, verificationKeys: ['00'.repeat(48), ...escrow.verificationKeys.slice(1)] }, /verificationKeys\[0\] is not a point/],
    [{ ...escrow, verificationKeys: ['zz', ...escrow.verificationKeys.slice(1)] }, /verificationKeys\[0\] must be 48 bytes/],
  ] as const) {
    assert.throws(() => withFile({ ...json, cb: { ...json.cb, escrow: bad } }, readNetwork), (e: unknown) => e instanceof CliError && message.test(e.message));
  }
});
