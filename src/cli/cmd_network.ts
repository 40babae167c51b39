// `tally network init`: the demo key ceremony. Writes DIR/network.json (every institution's public
// configuration plus, for this demo network only, their secret keys), one file per regulator key
// holder (DIR/regulator-holder-<i>.json, the 2-of-3 escrow shares) and the network PKI for mutual
// TLS between the CB and its FIs (DIR/tls/, network_tls.ts). All files are mode 0600.
// `tally network revoke` adds an FI's current certificate to DIR/tls/revoked.json (a running CB
// re-reads it within a second); `tally network cert` issues an FI a new key and certificate.

import path from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { scalarToBytes } from '../crypto/index.ts';
import { makePrivateDir } from '../se/index.ts';
import { optionAmount, formatAmount } from './amount.ts';
import { CliError, flag, optionString, requireString, type Parsed } from './args.ts';
import { JSON_OPTION, toJson, type Command } from './command.ts';
import { dealNetworkConfig, fiOf, networkToJson, readNetwork, regulatorShareFile, writeSecretJson } from './network_config.ts';
import { reissueFiCertificate, revokeFiCertificate, tlsLayout, writeNetworkTls } from './network_tls.ts';
import { REVOCATION_RECHECK_MS } from '../ledger/index.ts';

/** Repeatable options arrive as one comma-joined value (`--fi a --fi b` or `--fi a,b`). */
function listOf(argv: Parsed, name: string, fallback = ''): string[] {
  return (optionString(argv, name) ?? fallback).split(',').filter((s) => s.length > 0);
}
const fiIdsOf = (argv: Parsed): string[] => listOf(argv, 'fi', 'bank-a,bank-b');

const TLS_HOST_OPTION = { name: 'tls-host', value: true, repeatable: true, help: 'another name or address the node certificates carry (beyond localhost, 127.0.0.1)' };

export const DEFAULT_ALLOCATION = '1000000.00';

const initCommand: Command = {
  name: 'init',
  summary: 'Demo key ceremony: write DIR/network.json, the regulator key holders\' share files and the TLS PKI in DIR/tls/ (mode 0600).',
  usage: 'tally network init --dir DIR [--fi bank-a --fi bank-b] [--allocation AMOUNT] [--tls-host NAME] [--force] [--json]',
  options: [
    { name: 'dir', value: true, help: 'directory for network.json, regulator-holder-<i>.json and tls/' },
    { name: 'fi', value: true, repeatable: true, help: 'an FI of the network (repeat, or comma-separated; default bank-a,bank-b)' },
    { name: 'allocation', value: true, help: 'money the CB issues to each FI when the network starts', default: DEFAULT_ALLOCATION },
    TLS_HOST_OPTION,
    { name: 'force', value: false, help: 'overwrite existing files' },
    JSON_OPTION,
  ],
  async run(p, io) {
    const dir = requireString(p, 'dir');
    if (p.positionals.length > 0) throw new CliError('USAGE', `unexpected argument '${p.positionals[0]}'`);
    const allocationMinor = optionAmount(p, 'allocation', { allowZero: true })!;
    // Every key comes from the system CSPRNG: a seed on the command line would make every secret
    // of the network (and each re-run) reproducible by anyone who learns it (issue 8, finding 6).
    const fiIds = fiIdsOf(p);
    const { config, regulator } = dealNetworkConfig({ fiIds, allocationMinor, tls: tlsLayout(fiIds) });
    makePrivateDir(dir);
    const networkFile = path.join(dir, 'network.json');
    const force = flag(p, 'force');
    const shareFiles = regulator.shares.map((s) => regulatorShareFile(dir, s.index));
    writeSecretJson(networkFile, networkToJson(config), force);
    await writeNetworkTls(dir, fiIds, { hosts: listOf(p, 'tls-host'), force });
    regulator.shares.forEach((s, i) =>
      writeSecretJson(shareFiles[i]!, {
        kind: 'tally-regulator-share',
        warning: 'One holder\'s share of the regulator escrow key (demo dealing). Keep apart from the other shares.',
        threshold: regulator.threshold,
        holders: regulator.shares.length,
        index: s.index,
        secret: bytesToHex(scalarToBytes(s.secret)),
        verificationKey: bytesToHex(s.verificationKey.toBytes()),
        regulatorKey: bytesToHex(regulator.publicKey.toBytes()),
      }, force),
    );
    const tlsDir = path.join(dir, 'tls');
    const summary = { networkFile, shareFiles, tlsDir, fis: config.fis.map((f) => f.fiId), manufacturer: config.manufacturer.name };
    if (flag(p, 'json')) io.out(toJson(summary));
    else {
      io.out(`wrote ${networkFile} (DEMO keys of the manufacturer, the CB and ${summary.fis.join(', ')}; mode 0600)`);
      io.out(`wrote ${shareFiles.length} regulator key shares (${regulator.threshold}-of-${shareFiles.length}): ${shareFiles.join(', ')}`);
      io.out(`wrote the network CA and node certificates for the CB and ${summary.fis.join(', ')} in ${tlsDir} (keys mode 0600)`);
      io.out(`each FI starts with ${formatAmount(allocationMinor)} issued by the CB`);
    }
    return 0;
  },
};

const dirOption = { name: 'dir', value: true, help: 'the network directory (network.json, tls/)' };
const fiOption = { name: 'fi', value: true, help: 'the FI whose certificate it is' };

function networkIn(p: Parsed) {
  if (p.positionals.length > 0) throw new CliError('USAGE', `unexpected argument '${p.positionals[0]}'`);
  const file = path.join(requireString(p, 'dir'), 'network.json');
  const net = readNetwork(file);
  const fi = fiOf(net, requireString(p, 'fi'), file);
  return { file, net, fiId: fi.fiId };
}

const revokeCommand: Command = {
  name: 'revoke',
  summary: 'Revoke an FI\'s current TLS certificate (adds its serial to DIR/tls/revoked.json; a running CB re-reads it).',
  usage: 'tally network revoke --dir DIR --fi ID [--json]',
  options: [dirOption, fiOption, JSON_OPTION],
  async run(p, io) {
    const { file, net, fiId } = networkIn(p);
    const r = revokeFiCertificate(file, net.tls, fiId);
    if (flag(p, 'json')) io.out(toJson({ fiId, ...r }));
    else if (r.added) io.out(`revoked ${fiId}'s certificate (serial ${r.serial}) in ${r.revokedFile}; a running CB refuses it within ${REVOCATION_RECHECK_MS / 1000} s`);
    else io.out(`${fiId}'s certificate (serial ${r.serial}) was already revoked`);
    return 0;
  },
};

const certCommand: Command = {
  name: 'cert',
  summary: 'Issue an FI a new TLS key and certificate from the network CA (after a revocation, or before expiry).',
  usage: 'tally network cert --dir DIR --fi ID [--tls-host NAME] [--json]',
  options: [dirOption, fiOption, TLS_HOST_OPTION, JSON_OPTION],
  async run(p, io) {
    const { file, net, fiId } = networkIn(p);
    const r = await reissueFiCertificate(file, net.tls, fiId, listOf(p, 'tls-host'));
    if (flag(p, 'json')) io.out(toJson({ fiId, serial: r.issued.serial, previous: r.previous, previousRevoked: r.previousRevoked }));
    else {
      io.out(`issued ${fiId} a new certificate (serial ${r.issued.serial}); restart its node to use it`);
      if (!r.previousRevoked) io.out(`the previous certificate (serial ${r.previous}) stays valid until it expires: revoke it with \`tally network revoke\` first if its key may be known to anyone else`);
    }
    return 0;
  },
};

export const networkCommand: Command = {
  name: 'network',
  summary: 'Set up a demo network (institutions and their keys).',
  usage: 'tally network <init|revoke|cert> [options]',
  options: [],
  children: [initCommand, revokeCommand, certCommand],
};
