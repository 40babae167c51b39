// How long each side of a payment waits for the other, from both parties' device classes (issue 9).
// The protocol layer knows no device classes (exchange.ts ExchangeTiming); this file fills its
// totals from the same cost model that prices each SE command per hardware class, so a change of
// the model's figures moves the deadlines with it:
//   payer waits for the request  ≤ idle + margin × BUILD_PAYMENT_REQUEST on the payee's class,
//   payee waits for the payment  ≤ idle + margin × (one spend token + AUTHORIZE_PAYMENT + the host part) on the payer's,
//   payer waits for the receipt  ≤ idle + margin × ACCEPT_PAYMENT (a full nullifier set) on the payee's,
// each clamped to RECEIVE_DEADLINE_MS_MAX. A party whose peer's class it does not know (a payee does
// not learn the payer's class before the payment) assumes the slowest class any profile names.
// While its SE works the busy side sends keep-alives, so the silence bound (RECEIVE_TIMEOUT_MS)
// never has to cover proving; the totals only bound a peer that keeps a link alive and never answers.
//
// The two scales exist for tests that run the whole world faster than real time: `modelScale`
// multiplies every modelled SE time (the slow SE host sleeps the model's time × the same factor),
// `linkScale` the silence bound and the keep-alive interval.

import { assert } from '../crypto/assert.ts';
import {
  KEEPALIVE_INTERVAL_MS, RECEIVE_DEADLINE_MS_MAX, RECEIVE_TIMEOUT_MS, type ExchangeTiming,
} from '../protocol/index.ts';
import { SEEN_NULLIFIERS_MAX } from '../se/index.ts';
import { estimate, stepOps, type CostedHardware, type PaymentCommand, type PaymentStep } from './cost_model.ts';
import { PROFILES, type HardwareClass } from './profiles.ts';

/**
 * Factor of a deadline over the modelled SE time. The model is an estimate scaled from published
 * figures; twice it leaves room for a card slower than the class's figure and for the radio.
 */
export const DEADLINE_MODEL_MARGIN = 2;

export interface LinkTimingOptions {
  /** Multiplies every modelled SE time (tests; 1 in the field). */
  modelScale?: number;
  /** Multiplies the silence bound and the keep-alive interval (tests; 1 in the field). */
  linkScale?: number;
  /** Send keep-alives while this side's SE works (default true; false is the pre-issue-9 link). */
  keepAlive?: boolean;
}

export interface Parties {
  payer?: CostedHardware;
  payee?: CostedHardware;
}

/** The step of the restructured payment (cost_model.ts stepOps) each SE command runs. */
const STEP_OF: Record<PaymentCommand, PaymentStep> = {
  BUILD_PAYMENT_REQUEST: 'payee.se.build',
  AUTHORIZE_PAYMENT: 'payer.se.tap',
  ACCEPT_PAYMENT: 'payee.se.accept',
  PRECOMPUTE_PAYMENT: 'payer.se.precompute',
};

/** Modelled SE time of one payment command on `hardware` (a full nullifier set for ACCEPT). */
export function modelledCommandMs(command: PaymentCommand, hardware: CostedHardware): number {
  return estimate(stepOps(STEP_OF[command], { seenNullifiers: SEEN_NULLIFIERS_MAX }), hardware).timeMs;
}

/**
 * What a payee waits for between its request and the payment, worst case: the payer host's part
 * (priced on this machine's class) and, when the payer's pool is empty at the tap, one spend token
 * made before AUTHORIZE_PAYMENT.
 */
function payerWorkMs(hardware: CostedHardware): number {
  return modelledCommandMs('PRECOMPUTE_PAYMENT', hardware) + modelledCommandMs('AUTHORIZE_PAYMENT', hardware) + estimate(stepOps('payer.host.tap'), 'host').timeMs;
}

/** The class of any profile that is slowest at `command`: what a party assumes of a peer it does not know. */
export function slowestHardwareFor(command: PaymentCommand): HardwareClass {
  const classes = [...new Set(Object.values(PROFILES).map((p) => p.hardware))];
  let slowest = classes[0]!;
  for (const hw of classes) if (modelledCommandMs(command, hw) > modelledCommandMs(command, slowest)) slowest = hw;
  return slowest;
}

/** Total deadline of a wait that covers `command` on `hardware` (unclamped, unscaled). */
export function modelledWaitMs(command: PaymentCommand, hardware: CostedHardware): number {
  return RECEIVE_TIMEOUT_MS + DEADLINE_MODEL_MARGIN * (command === 'AUTHORIZE_PAYMENT' ? payerWorkMs(hardware) : modelledCommandMs(command, hardware));
}

/** The exchange timing for a payment between these parties (either may be unknown). */
export function exchangeTimingFor(parties: Parties, opts: LinkTimingOptions = {}): ExchangeTiming {
  const modelScale = opts.modelScale ?? 1;
  const linkScale = opts.linkScale ?? 1;
  assert(modelScale > 0 && Number.isFinite(modelScale) && linkScale > 0 && Number.isFinite(linkScale), 'exchangeTimingFor: scales must be positive');
  const idleMs = RECEIVE_TIMEOUT_MS * linkScale;
  // The ceiling scales with the world: a test running everything 100× faster shrinks it too.
  const total = (command: PaymentCommand, hw: CostedHardware | undefined): number => {
    const on = hw ?? slowestHardwareFor(command);
    const modelled = command === 'AUTHORIZE_PAYMENT' ? payerWorkMs(on) : modelledCommandMs(command, on);
    return Math.min(RECEIVE_DEADLINE_MS_MAX * Math.max(modelScale, linkScale), idleMs + DEADLINE_MODEL_MARGIN * modelled * modelScale);
  };
  const timing: ExchangeTiming = {
    idleMs,
    keepAliveMs: (opts.keepAlive ?? true) ? KEEPALIVE_INTERVAL_MS * linkScale : null,
    requestMs: total('BUILD_PAYMENT_REQUEST', parties.payee),
    paymentMs: total('AUTHORIZE_PAYMENT', parties.payer),
    receiptMs: total('ACCEPT_PAYMENT', parties.payee),
  };
  assert(timing.paymentMs >= idleMs && timing.requestMs >= idleMs && timing.receiptMs >= idleMs, 'every total covers at least one silence bound');
  return timing;
}
