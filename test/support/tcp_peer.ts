// One side of an offline payment over TCP, as its own process: `node --import tsx
// test/support/tcp_peer.ts <role> [options]`. Both processes build the same test institutions from
// `--seed` (World), so two devices made in two processes trust each other; each device's SE lives
// in its own process (memory NVM, or `--nvm <dir>` for a file NVM that survives the process).
// The seed names the institutions only: the SE always draws from the system CSPRNG, because a
// seeded SE on a persistent NVM replays one random stream on every start and its next two
// payments reuse every nonce, which gives away k (test/attacks/seeded_rng.test.ts).
//
//   payee:  --profile pos --amount 1500          listens on 127.0.0.1:<port> (0 = any), prints
//                                               {"event":"listening","port":N}, takes one payment
//   payer:  --profile wallet --fund 20000 --port N   connects and pays what the payee requests
//   both:   --timeout-ms N   how long to wait for each message (default RECEIVE_TIMEOUT_MS)
// Each prints one JSON line {"event":"done", …} with the amount and its SE balance, then exits.

import { systemRng } from '../../src/crypto/rng.ts';
import { RECEIVE_TIMEOUT_MS, tcpConnect, tcpListen } from '../../src/protocol/index.ts';
import { makeWorld } from './world.ts';
import { Device } from '../../src/device/device.ts';
import { profileNamed } from '../../src/device/profiles.ts';
import { fundDevice, provisionDevice } from './provision.ts';

export interface PeerArgs {
  role: 'payer' | 'payee';
  profile: string;
  seed: string;
  amountMinor: bigint;
  fundMinor: bigint;
  port: number;
  nvm: string | null;
  timeoutMs: number;
}

export function parsePeerArgs(argv: readonly string[]): PeerArgs {
  const [role, ...rest] = argv;
  if (role !== 'payer' && role !== 'payee') throw new RangeError(`expected role payer or payee, got ${String(role)}`);
  const opt = (name: string, fallback: string): string => {
    const i = rest.indexOf(`--${name}`);
    return i >= 0 && rest[i + 1] !== undefined ? rest[i + 1]! : fallback;
  };
  const timeoutMs = Number(opt('timeout-ms', String(RECEIVE_TIMEOUT_MS)));
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) throw new RangeError(`expected --timeout-ms a positive integer, got ${opt('timeout-ms', '')}`);
  return {
    role,
    profile: opt('profile', role === 'payer' ? 'wallet' : 'pos'),
    seed: opt('seed', 'tally-demo'),
    amountMinor: BigInt(opt('amount', '0')),
    fundMinor: BigInt(opt('fund', '0')),
    port: Number(opt('port', '0')),
    nvm: rest.includes('--nvm') ? opt('nvm', '') : null,
    timeoutMs,
  };
}

const json = (o: Record<string, unknown>): string => JSON.stringify(o, (_, v) => (typeof v === 'bigint' ? v.toString() : v));

export async function runPeer(args: PeerArgs, print: (line: string) => void = console.log): Promise<void> {
  const w = makeWorld(args.seed);
  const device = new Device({
    profile: profileNamed(args.profile),
    nvm: args.nvm ? { kind: 'file', dir: args.nvm } : { kind: 'memory' },
    rng: systemRng,
    clock: w.clock,
  });
  if ((await device.info()).phase === 0) await provisionDevice(w, device);
  if (args.fundMinor > 0n) await fundDevice(w, device, args.fundMinor);
  if (args.role === 'payee') {
    const listener = await tcpListen(args.port);
    print(json({ event: 'listening', port: listener.port }));
    const transport = await listener.accept(30_000);
    const out = await device.receive(transport, args.amountMinor, args.timeoutMs);
    transport.close();
    await listener.close();
    print(json({ event: 'done', role: 'payee', amountMinor: out.amountMinor, balanceMinor: out.balanceMinor, resent: out.resent }));
  } else {
    const transport = await tcpConnect(args.port);
    const out = await device.pay(transport, { timeoutMs: args.timeoutMs });
    transport.close();
    print(json({ event: 'done', role: 'payer', amountMinor: out.amountMinor, balanceMinor: out.balanceMinor }));
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  runPeer(parsePeerArgs(process.argv.slice(2))).catch((e: unknown) => {
    console.error(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
    process.exit(1);
  });
}
