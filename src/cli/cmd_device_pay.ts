// `tally device receive` and `tally device pay`: one offline payment between two device processes
// over TCP (no ledger anywhere). The payee listens, requests an amount and accepts one payment;
// the payer connects and pays what is requested, refusing more than --max; `pay --resend [ID]`
// answers the payee's request with a payment the SE keeps unconfirmed instead (after a lost link
// or a killed payee; `device show` lists them) and hands the receipt back to the SE. Both print JSON lines
// so a script can drive them: the payee first {"event":"listening","port":N}, then the receipt.
// Both do their cold start (generators, the payer's precomputation) before the link opens. A payee
// credited by a re-sent payment for an earlier request prints "credited-earlier-request" and keeps
// the current request open for the next payer: only a payment for it prints "received", exit 0.

import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import {
  ExchangeError, ExchangeErrorCode, PayerLinkLost, TransportError, TransportErrorCode, decodePaymentRequest, remainingMs, tcpConnect, tcpListen,
  type MessageTransport, type TcpListener,
} from '../protocol/index.ts';
import type { Device } from '../device/index.ts';
import { formatAmount, optionAmount, requireAmount } from './amount.ts';
import { CliError, flag, optionInt, optionString, requireString, type Parsed } from './args.ts';
import { JSON_OPTION, type Command } from './command.ts';
import { DIR_OPTION, noPositionals, openHost } from './device_host.ts';

/** How long a payee waits for a payer to connect, by default (a person walking up to a till). */
export const RECEIVE_WAIT_SECONDS_DEFAULT = 120;
/** One JSON line (bigints as decimal strings). */
const line = (o: Record<string, unknown>): string => JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));

export const receiveCommand: Command = {
  name: 'receive',
  summary: 'Listen on TCP, request an amount, accept one payment and print its receipt (JSON lines).',
  usage: 'tally device receive --dir DEV --amount AMOUNT [--port P] [--host 127.0.0.1] [--wait SECONDS]',
  options: [
    DIR_OPTION,
    { name: 'amount', value: true, help: 'amount to request, e.g. 12.34' },
    { name: 'port', value: true, help: 'TCP port (0 picks one, printed first)', default: '0' },
    { name: 'host', value: true, help: 'address to listen on', default: '127.0.0.1' },
    { name: 'wait', value: true, help: 'seconds to wait for the payer', default: String(RECEIVE_WAIT_SECONDS_DEFAULT) },
  ],
  async run(p, io) {
    noPositionals(p);
    const amountMinor = requireAmount(p, 'amount');
    const { file, device } = openHost(p);
    const waitMs = (optionInt(p, 'wait') ?? RECEIVE_WAIT_SECONDS_DEFAULT) * 1000;
    await device.warmUp(); // the cold start happens before the port opens, not while a payer waits
    const listener = await tcpListen(optionInt(p, 'port') ?? 0, optionString(p, 'host'));
    try {
      io.out(JSON.stringify({ event: 'listening', host: listener.host, port: listener.port }));
      return await serveOneSale(device, listener, amountMinor, Date.now() + waitMs, (o) => io.out(line({ deviceId: file.deviceId, ...o })));
    } finally {
      await listener.close();
    }
  },
};

/**
 * Accepts payers until one pays the current request. A payer that re-sends a payment for an earlier
 * request of this SE (after a lost link) is credited for that earlier sale and told so on its own
 * line; the current request stays open, is offered again to the next payer, and the command does
 * not report it paid. If the wait ends first, the command fails naming what it did credit.
 */
async function serveOneSale(
  device: Device, listener: TcpListener, amountMinor: bigint, deadline: number, emit: (o: Record<string, unknown>) => void,
): Promise<number> {
  let openRequest: Uint8Array | undefined;
  const earlier: string[] = [];
  for (;;) {
    let transport: MessageTransport;
    try {
      transport = await listener.accept(remainingMs(deadline));
    } catch (e) {
      if (earlier.length > 0 && e instanceof TransportError && e.code === TransportErrorCode.TIMEOUT) {
        throw new CliError('FAILED', `the current request for ${formatAmount(amountMinor)} was not paid; credited only ${earlier.join(', ')} for earlier requests`);
      }
      throw e;
    }
    try {
      const out = await device.receive(transport, amountMinor, { openRequest }).catch((e: unknown) => {
        if (e instanceof TransportError && e.code === TransportErrorCode.CLOSED) {
          throw new CliError('FAILED', `the payer closed the link without paying ${formatAmount(amountMinor)} (declined, or over its limit); nothing was credited`);
        }
        throw e;
      });
      const fields = {
        amountMinor: out.amountMinor, amount: formatAmount(out.amountMinor), resent: out.resent,
        requestId: bytesToHex(out.requestId), balanceMinor: out.balanceMinor, receipt: bytesToHex(out.receipt), nullifier: bytesToHex(out.nullifier),
      };
      if (out.forCurrentRequest) {
        emit({ event: 'received', ...fields });
        return 0;
      }
      emit({ event: 'credited-earlier-request', ...fields, openRequestId: bytesToHex(decodePaymentRequest(out.request).requestId), openAmountMinor: amountMinor });
      earlier.push(`${formatAmount(out.amountMinor)}${out.resent ? ' (already credited before)' : ''}`);
      openRequest = out.request;
    } finally {
      transport.close();
    }
  }
}

function parseTarget(text: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (m === null || port < 1 || port > 65535) throw new CliError('USAGE', `--to must be HOST:PORT (e.g. 127.0.0.1:40123), got '${text}'`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

const REQUEST_ID_HEX = /^[0-9a-f]{32}$/;

/** `--resend [ID]`: the request id to re-send (hex), or undefined for the newest kept payment. */
function resendTarget(p: Parsed): Uint8Array | undefined {
  if (p.positionals.length > 1) throw new CliError('USAGE', `--resend takes at most one request id, got ${p.positionals.length}`);
  const id = p.positionals[0];
  if (id === undefined) return undefined;
  if (!REQUEST_ID_HEX.test(id)) throw new CliError('USAGE', `a request id is 32 hex digits (from 'tally device show'), got '${id}'`);
  return hexToBytes(id);
}

/** Before connecting: there must be a kept payment to re-send (the one asked for, or any). */
async function checkKept(se: { getUnconfirmedPayments(): Promise<Array<{ requestId: Uint8Array }>> }, requestId: Uint8Array | undefined): Promise<void> {
  const kept = await se.getUnconfirmedPayments();
  const want = requestId === undefined ? undefined : bytesToHex(requestId);
  if (kept.length === 0) throw new CliError('FAILED', 'nothing to re-send: this SE keeps no unconfirmed payment (every payment was receipted, settled or reclaimed)');
  if (want !== undefined && !kept.some((k) => bytesToHex(k.requestId) === want)) {
    throw new CliError('FAILED', `nothing to re-send for request ${want}: this SE keeps ${kept.map((k) => bytesToHex(k.requestId)).join(', ')} ('tally device show' lists them)`);
  }
}

export const payCommand: Command = {
  name: 'pay',
  summary: 'Connect to a payee over TCP and pay the amount it requests (refusing more than --max), or re-send an unconfirmed payment.',
  usage: 'tally device pay --dir DEV --to HOST:PORT [--max AMOUNT] [--resend [REQUEST_ID]] [--json]',
  options: [
    DIR_OPTION,
    { name: 'to', value: true, help: 'the payee\'s HOST:PORT (from its listening line)' },
    { name: 'max', value: true, help: 'refuse a request above this amount (default: any amount)' },
    { name: 'resend', value: false, help: 're-send a payment the SE keeps unconfirmed (the newest, or REQUEST_ID from `device show`) instead of paying anew' },
    JSON_OPTION,
  ],
  async run(p, io) {
    const resend = flag(p, 'resend');
    const requestId = resend ? resendTarget(p) : (noPositionals(p), undefined);
    const { host, port } = parseTarget(requireString(p, 'to'));
    const maxAmountMinor = optionAmount(p, 'max');
    const { file, device } = openHost(p);
    if (resend) await checkKept(device.se, requestId);
    await device.warmUp(); // generators and the precomputation before the link, not inside the tap
    const transport = await tcpConnect(port, host);
    try {
      let requested: bigint | undefined;
      const approve = (r: { amountMinor: bigint }) => {
        requested = r.amountMinor;
        return maxAmountMinor === undefined || r.amountMinor <= maxAmountMinor;
      };
      const paying = resend ? device.resend(transport, { requestId }) : device.pay(transport, { approve });
      const out = await paying.catch((e: unknown) => {
        if (e instanceof ExchangeError && e.code === ExchangeErrorCode.DECLINED && requested !== undefined && maxAmountMinor !== undefined) {
          throw new CliError('FAILED', `refused: the payee asked for ${formatAmount(requested)}, more than --max ${formatAmount(maxAmountMinor)}; nothing was paid`);
        }
        if (e instanceof PayerLinkLost) {
          const id = e.resume.request === null ? '' : ` ${bytesToHex(e.resume.request.requestId)}`;
          throw new CliError('FAILED', `${e.message}: the SE keeps the payment; re-send it with 'tally device pay --dir ${requireString(p, 'dir')} --to HOST:PORT --resend${id}'`);
        }
        if (e instanceof RangeError && resend) throw new CliError('FAILED', e.message);
        throw e;
      });
      const paid = out.amountMinor ?? 0n;
      const verb = resend ? 're-sent' : 'paid';
      if (flag(p, 'json')) io.out(line({ event: verb === 'paid' ? 'paid' : 'resent', deviceId: file.deviceId, amountMinor: paid, amount: formatAmount(paid), balanceMinor: out.balanceMinor, receipt: bytesToHex(out.receipt) }));
      else io.out(`${verb} ${formatAmount(paid)} to ${host}:${port}; SE balance ${formatAmount(out.balanceMinor)}`);
    } finally {
      transport.close();
    }
    return 0;
  },
};
