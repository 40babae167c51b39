// `tally device ...`: one device host per directory (DEV/device.json + the SE's NVM in DEV/se).
// init enrols a blank SE at a running FI; show reads the SE; fund loads a voucher; receive and
// pay make one offline payment over TCP between two processes (cmd_device_pay.ts); sync uploads
// received payments and the balance report to the FI and downloads what the SE needs. Every call to
// a device route is signed by the SE (ledger/access/device_requests.ts).

import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { FiHttpClient, LedgerError, LedgerErrorCode, syncDevice } from '../ledger/index.ts';
import { assert } from '../crypto/assert.ts';
import { TIERS } from '../policy/limits.ts';
import type { InfoResponse } from '../se/commands.ts';
import type { SeClient } from '../se/client.ts';
import { formatAmount, optionAmount, requireAmount } from './amount.ts';
import { CliError, flag, optionInt, optionString, requireString, type Parsed } from './args.ts';
import { JSON_OPTION, toJson, type Command, type Io } from './command.ts';
import { payCommand, receiveCommand } from './cmd_device_pay.ts';
import { describeUnconfirmed, printUnconfirmed } from './cmd_device_unconfirmed.ts';
import { accountBalance, DIR_OPTION, hostFetch, installIssuerKeys, noPositionals, normalizeUrl, openHost, profileOf } from './device_host.ts';
import { initDevice } from './device_init.ts';
import { PROFILES } from '../device/index.ts';
import { readNetwork } from './network_config.ts';
import { TOKEN_FILE_OPTION, tokenOf } from './node_access.ts';


const initCommand: Command = {
  name: 'init',
  summary: 'Make a new device: manufacture and personalise its SE, KYC its owner, enrol it at the FI, issue its credential.',
  usage: 'tally device init --dir DEV --profile NAME --network FILE --fi-url URL --token-file FILE --customer NAME [--tier T] [--deposit AMOUNT] [--json]',
  options: [
    DIR_OPTION,
    { name: 'profile', value: true, help: Object.keys(PROFILES).join('|') },
    { name: 'network', value: true, help: 'network.json (public keys; the demo manufacturer CA key signs the SE\'s certificate)' },
    { name: 'fi-url', value: true, help: 'root of the device\'s FI, e.g. http://127.0.0.1:8081/fi/bank-a' },
    { name: 'customer', value: true, help: 'owner\'s name (registered at the FI if new)' },
    { ...TOKEN_FILE_OPTION, help: 'an FI operator\'s token file (KYC, account, deposit and enrolment are the bank\'s acts)' },
    { name: 'tier', value: true, help: 'policy tier 0-3 (default: the profile\'s)' },
    { name: 'deposit', value: true, help: 'credit the owner\'s account with this much first (e.g. 150.00)' },
    JSON_OPTION,
  ],
  async run(p, io) {
    noPositionals(p);
    const profile = profileOf(requireString(p, 'profile'));
    const tier = optionInt(p, 'tier') ?? profile.tier;
    if (!(TIERS as readonly number[]).includes(tier)) throw new CliError('USAGE', `--tier must be one of ${TIERS.join(', ')}, got ${tier}`);
    const networkFile = requireString(p, 'network');
    const r = await initDevice({
      dir: requireString(p, 'dir'), profile, net: readNetwork(networkFile), networkFile, fiUrl: normalizeUrl(requireString(p, 'fi-url')),
      customer: requireString(p, 'customer'), tier, depositMinor: optionAmount(p, 'deposit') ?? 0n, token: requireToken(p),
    });
    if (flag(p, 'json')) io.out(toJson({ ...r.file, credentialEpoch: r.epoch, issuerEpochs: r.issuerEpochs }));
    else io.out(`${profile.label} ${r.file.deviceId.slice(0, 16)}… enrolled at ${r.file.fiId} for ${r.file.customer} (account ${r.file.accountId}), tier ${tier}, credential epoch ${r.epoch}`);
    return 0;
  },
};

function describeInfo(io: Io, label: string, info: InfoResponse): void {
  io.out(`${label}`);
  io.out(`  balance            ${formatAmount(info.balanceMinor)}`);
  io.out(`  tier               ${info.tier ?? '-'}   phase ${info.phase}`);
  io.out(`  counters           load ${info.loadCounter}, unload ${info.unloadCounter}, payment ${info.paymentCounter}`);
  io.out(`  spent since sync   ${formatAmount(info.spentSinceSyncMinor)} (epoch ${info.spendingEpoch})`);
  io.out(`  credential epochs  ${info.credentialEpochs.join(', ') || 'none'}`);
  io.out(`  pending receipts   ${info.receiptCount}${info.pendingBatchId !== null ? ` (batch ${info.pendingBatchId} exported, not yet acknowledged)` : ''}`);
  io.out(`  policy / revocation versions  ${info.policyVersion} / ${info.revocationVersion}`);
  if (info.deviceRevoked) io.out('  device revoked     the revocation list names this device: it receives, syncs and defunds, but cannot pay');
}

const showCommand: Command = {
  name: 'show',
  summary: 'Print the SE\'s balance, counters, credential epochs, pending receipts and unconfirmed payments.',
  usage: 'tally device show --dir DEV [--json]',
  options: [DIR_OPTION, JSON_OPTION],
  async run(p, io) {
    noPositionals(p);
    const { file, device } = openHost(p);
    const info = await device.info();
    const unconfirmed = info.phase === 2 ? describeUnconfirmed(await device.se.getUnconfirmedPayments(), BigInt(Date.now())) : [];
    if (flag(p, 'json')) io.out(toJson({ device: file, info: { ...info, certificate: undefined }, unconfirmed }));
    else {
      describeInfo(io, `${device.profile.label} ${file.deviceId} of ${file.customer} at ${file.fiId} (${file.fiUrl})`, info);
      printUnconfirmed(io, unconfirmed);
    }
    return 0;
  },
};

/**
 * Asks the FI for voucher `loadCounter` (the SE's next) and applies it. A voucher the FI issued for
 * that counter and the SE never applied (the host lost the answer, or asked for another amount) is
 * applied first: the FI answers VOUCHER_OUTSTANDING, the host fetches that voucher, applies it and
 * asks again for the next counter. Keyed by counter and amount: a retry gets the same voucher.
 */
export async function fundSe(se: SeClient, fi: FiHttpClient, deviceId: Uint8Array, amountMinor: bigint) {
  let recoveredMinor = 0n;
  for (let round = 0; round < FUND_ROUNDS_MAX; round++) {
    const info = await se.getInfo();
    const key = `fund/${bytesToHex(deviceId)}/${info.loadCounter}/${amountMinor}`;
    try {
      const v = await fi.createLoadVoucher({ deviceId, amountMinor, loadCounter: info.loadCounter, idempotencyKey: key });
      const applied = await se.applyLoadVoucher(v.voucher);
      assert(applied.balanceMinor === info.balanceMinor + amountMinor, `device fund: balance ${info.balanceMinor} + ${amountMinor} became ${applied.balanceMinor}`);
      return { applied, accountMinor: v.accountBalanceMinor, recoveredMinor };
    } catch (e) {
      if (!(e instanceof LedgerError) || e.code !== LedgerErrorCode.voucherOutstanding) throw e;
      const outstanding = await fi.issuedVoucher(deviceId, info.loadCounter);
      await se.applyLoadVoucher(outstanding.voucher);
      recoveredMinor += outstanding.amountMinor;
    }
  }
  throw new CliError('FAILED', `device fund: the FI still names an outstanding voucher after ${FUND_ROUNDS_MAX} rounds`);
}
/** One outstanding voucher applied, then the new one (a spare round). */
const FUND_ROUNDS_MAX = 3;

const fundCommand: Command = {
  name: 'fund',
  summary: 'Move money from the owner\'s account onto the SE (a load voucher from the FI).',
  usage: 'tally device fund --dir DEV --amount AMOUNT [--fi-url URL] [--json]',
  options: [DIR_OPTION, { name: 'amount', value: true, help: 'e.g. 100.00' }, { name: 'fi-url', value: true, help: 'override the FI address in device.json' }, JSON_OPTION],
  async run(p, io) {
    noPositionals(p);
    const amountMinor = requireAmount(p, 'amount');
    const { file, device } = openHost(p);
    const fiUrl = normalizeUrl(optionString(p, 'fi-url') ?? file.fiUrl);
    const fi = new FiHttpClient(fiUrl, hostFetch, device.se);
    const { applied, accountMinor, recoveredMinor } = await fundSe(device.se, fi, hexToBytes(file.deviceId), amountMinor);
    if (flag(p, 'json')) io.out(toJson({ amountMinor, balanceMinor: applied.balanceMinor, accountBalanceMinor: accountMinor, loadCounter: applied.loadCounter, recoveredMinor }));
    else {
      if (recoveredMinor > 0n) io.out(`applied ${formatAmount(recoveredMinor)} of vouchers issued earlier and never loaded`);
      io.out(`funded ${formatAmount(amountMinor)}: SE balance ${formatAmount(applied.balanceMinor)}, account ${file.accountId} ${formatAmount(accountMinor)}`);
    }
    return 0;
  },
};

const syncCommand: Command = {
  name: 'sync',
  summary: 'Upload received payments and the balance report to the FI; take the ack, policy, revocations, renewal, issuer keys.',
  usage: 'tally device sync --dir DEV [--defund] [--fi-url URL] [--json]',
  options: [
    DIR_OPTION,
    { name: 'defund', value: false, help: 'first move the whole SE balance back to the owner\'s account' },
    { name: 'fi-url', value: true, help: 'override the FI address in device.json' },
    JSON_OPTION,
  ],
  async run(p, io) {
    noPositionals(p);
    const { file, device } = openHost(p);
    const fiUrl = normalizeUrl(optionString(p, 'fi-url') ?? file.fiUrl);
    const r = await syncDevice(device.se, new FiHttpClient(fiUrl, hostFetch, device.se), { defundAll: flag(p, 'defund'), keyPrefix: `sync/${file.deviceId}` });
    await installIssuerKeys(device.se, fiUrl);
    const info = await device.info();
    const accountMinor = await accountBalance(file, device.se, fiUrl);
    const summary = {
      rounds: r.rounds.length,
      receiptsUploaded: r.rounds.reduce((n, x) => n + x.receiptCount, 0),
      unloadedMinor: r.rounds.flatMap((x) => x.unloads).reduce((n, u) => n + u.amountMinor, 0n),
      incidentIds: r.rounds.flatMap((x) => x.incidentIds),
      renewedEpoch: r.renewedEpoch,
      balanceMinor: info.balanceMinor,
      accountBalanceMinor: accountMinor,
      credentialEpochs: info.credentialEpochs,
    };
    if (flag(p, 'json')) io.out(toJson({ deviceId: file.deviceId, accountId: file.accountId, ...summary }));
    else {
      io.out(`synced with ${fiUrl}: ${summary.receiptsUploaded} receipt(s) uploaded in ${summary.rounds} round(s)${summary.unloadedMinor > 0n ? `, ${formatAmount(summary.unloadedMinor)} unloaded` : ''}`);
      io.out(`  SE balance ${formatAmount(info.balanceMinor)}, account ${file.accountId} ${formatAmount(accountMinor)}, credential epochs ${info.credentialEpochs.join(', ')}`);
      if (summary.incidentIds.length > 0) io.out(`  double-spend incidents: ${summary.incidentIds.join(', ')}`);
    }
    return 0;
  },
};

function requireToken(p: Parsed): string {
  const token = tokenOf(p);
  if (token === undefined) throw new CliError('USAGE', '--token-file is required: KYC and enrolment are done by an FI operator (`tally operator add --db FI_DB --role fi-operator --token-file FILE`)');
  return token;
}

export const deviceCommand: Command = {
  name: 'device',
  summary: 'Run a device host: init, show, fund, receive, pay, sync.',
  usage: 'tally device <init|show|fund|receive|pay|sync> --dir DEV [options]',
  options: [],
  children: [initCommand, showCommand, fundCommand, receiveCommand, payCommand, syncCommand],
};
