// `tally network init`: the demo key ceremony. Writes DIR/network.json (every institution's public
// configuration plus, for this demo network only, their secret keys) and one file per regulator
// key holder (DIR/regulator-holder-<i>.json, the 2-of-3 escrow shares). All files are mode 0600.

import path from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { scalarToBytes } from '../crypto/index.ts';
import { makePrivateDir } from '../se/index.ts';
import { optionAmount, formatAmount } from './amount.ts';
import { CliError, flag, optionString, requireString, type Parsed } from './args.ts';
import { JSON_OPTION, toJson, type Command } from './command.ts';
import { dealNetwork, networkToJson, regulatorShareFile, writeSecretJson } from './network_config.ts';

/** Repeatable options arrive as one comma-joined value (`--fi a --fi b` or `--fi a,b`). */
function fiIdsOf(argv: Parsed): string[] {
  const v = optionString(argv, 'fi') ?? 'bank-a,bank-b';
  return v.split(',').filter((s) => s.length > 0);
}

export const DEFAULT_ALLOCATION = '1000000.00';

const initCommand: Command = {
  name: 'init',
  summary: 'Demo key ceremony: write DIR/network.json and the regulator key holders\' share files (mode 0600).',
  usage: 'tally network init --dir DIR [--fi bank-a --fi bank-b] [--allocation AMOUNT] [--force] [--json]',
  options: [
    { name: 'dir', value: true, help: 'directory for network.json and regulator-holder-<i>.json' },
    { name: 'fi', value: true, repeatable: true, help: 'an FI of the network (repeat, or comma-separated; default bank-a,bank-b)' },
    { name: 'allocation', value: true, help: 'money the CB issues to each FI when the network starts', default: DEFAULT_ALLOCATION },
    { name: 'force', value: false, help: 'overwrite existing files' },
    JSON_OPTION,
  ],
  async run(p, io) {
    const dir = requireString(p, 'dir');
    if (p.positionals.length > 0) throw new CliError('USAGE', `unexpected argument '${p.positionals[0]}'`);
    const allocationMinor = optionAmount(p, 'allocation', { allowZero: true })!;
    // Every key comes from the system CSPRNG: a seed on the command line would make every secret
    // of the network (and each re-run) reproducible by anyone who learns it (issue 8, finding 6).
    const { config, regulator } = dealNetwork({ fiIds: fiIdsOf(p), allocationMinor });
    makePrivateDir(dir);
    const networkFile = path.join(dir, 'network.json');
    const force = flag(p, 'force');
    const shareFiles = regulator.shares.map((s) => regulatorShareFile(dir, s.index));
    writeSecretJson(networkFile, networkToJson(config), force);
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
    const summary = { networkFile, shareFiles, fis: config.fis.map((f) => f.fiId), manufacturer: config.manufacturer.name };
    if (flag(p, 'json')) io.out(toJson(summary));
    else {
      io.out(`wrote ${networkFile} (DEMO keys of the manufacturer, the CB and ${summary.fis.join(', ')}; mode 0600)`);
      io.out(`wrote ${shareFiles.length} regulator key shares (${regulator.threshold}-of-${shareFiles.length}): ${shareFiles.join(', ')}`);
      io.out(`each FI starts with ${formatAmount(allocationMinor)} issued by the CB`);
    }
    return 0;
  },
};

export const networkCommand: Command = {
  name: 'network',
  summary: 'Set up a demo network (institutions and their keys).',
  usage: 'tally network <init> [options]',
  options: [],
  children: [initCommand],
};
