// A link model for benchmarks and the simulator: turns the sizes of the messages of a payment into
// the time they spend on the air. Each message becomes the frames the real framing produces
// (framing_nfc.ts / framing_ble.ts, so the model cannot drift from the code), each frame costs
//   (payload + overhead bytes) × bits per byte / bit rate  +  per-frame latency,
// each message adds a turnaround latency, and each frame attempt is lost with probability
// `lossRate` (drawn from an injected Rng, so a seed replays a run), costing its airtime plus a
// retransmission timeout, up to `retransmissionsMax` retries before the link gives up.
//
// The defaults are documented estimates, not measurements of one phone: they put a number on
// "how much of the 500 ms EMV tap budget does the radio take" for a ≈ 2.7 KB payment.

import { assert } from '../crypto/assert.ts';
import type { Rng } from '../crypto/rng.ts';
import { bleWrites } from './framing_ble.ts';
import { nfcFrames } from './framing_nfc.ts';
import { BLE_ATT_HEADER_BYTES, BLE_MTU_MAX, LINK_RETRANSMISSIONS_MAX, MESSAGE_BYTES_MAX } from './limits.ts';

export interface LinkProfile {
  readonly name: string;
  /** Signalling rate on the air. */
  readonly bitRateBps: number;
  /** Bits the air interface spends per byte (ISO 14443-A adds a parity bit: 9). */
  readonly bitsPerByte: number;
  /** Bytes per frame beyond what the framing produces (CRC, link headers, preamble). */
  readonly frameOverheadBytes: number;
  /** Fixed time per frame: guard times, acknowledgement, turnaround. */
  readonly frameLatencyMs: number;
  /** Fixed time per message: change of direction / wait for the peer's next opportunity. */
  readonly messageLatencyMs: number;
  /** Probability that one frame attempt is lost, in [0, 1]. */
  readonly lossRate: number;
  /** Time to notice a lost frame before it is sent again. */
  readonly retransmitTimeoutMs: number;
  /** Retries per frame before the link gives up. */
  readonly retransmissionsMax: number;
  /** Bytes of each frame the framing produces for a message of `messageBytes`. */
  frames(messageBytes: number): number[];
}

/**
 * NFC, ISO/IEC 14443-4 Type A at 424 kbit/s. 106 kbit/s is the mandatory rate; SEs and phones
 * commonly negotiate 212 or 424 kbit/s, and 424 is the best case (`nfcProfile(106_000)` for the
 * worst). Per frame: CRC_A (2 bytes) + SOF/EOF (≈ 1 byte); 9 bits per byte (parity); 1 ms per
 * I-block for both frame delay times, the R(ACK) that acknowledges a chained block, and the
 * reader's stack. 1 ms per message for the change of direction. A lost block is noticed after the
 * frame waiting time, 5 ms here (FWI ≈ 4).
 */
export function nfcProfile(bitRateBps = 424_000, lossRate = 0): LinkProfile {
  return {
    name: `NFC ISO-DEP ${bitRateBps / 1000} kbit/s`,
    bitRateBps,
    bitsPerByte: 9,
    frameOverheadBytes: 3,
    frameLatencyMs: 1,
    messageLatencyMs: 1,
    lossRate,
    retransmitTimeoutMs: 5,
    retransmissionsMax: LINK_RETRANSMISSIONS_MAX,
    frames: (n) => nfcFrames(new Uint8Array(n), 0).map((f) => f.length),
  };
}

/**
 * BLE, LE 1M PHY, GATT Write Commands at ATT_MTU `mtu` (247 with Data Length Extension: one ATT
 * write per 251-byte LL payload). Per frame: preamble 1 + access address 4 + LL header 2 + MIC 4
 * (encrypted link) + CRC 3 + L2CAP 4 + ATT 3 = 21 bytes; 0.38 ms for T_IFS twice and the peer's
 * empty acknowledgement PDU. That gives ≈ 780 kbit/s of payload at MTU 247, the upper end of what
 * phones reach. Per message: one 15 ms connection interval (the smallest iOS accepts) to turn the
 * direction around. A lost packet is resent in the same connection event: 0.5 ms.
 */
export function bleProfile(mtu = BLE_MTU_MAX, lossRate = 0): LinkProfile {
  return {
    name: `BLE 1M PHY MTU ${mtu}`,
    bitRateBps: 1_000_000,
    bitsPerByte: 8,
    frameOverheadBytes: 18 + BLE_ATT_HEADER_BYTES,
    frameLatencyMs: 0.38,
    messageLatencyMs: 15,
    lossRate,
    retransmitTimeoutMs: 0.5,
    retransmissionsMax: LINK_RETRANSMISSIONS_MAX,
    frames: (n) => bleWrites(new Uint8Array(n), mtu).map((w) => w.length),
  };
}

export interface Airtime {
  /** Total time on the air, ms (up to the failure if not delivered). */
  airtimeMs: number;
  /** Frames the messages needed (without retransmissions). */
  frames: number;
  retransmissions: number;
  /** Bytes sent on the air, overhead and retransmissions included. */
  bytesOnAir: number;
  /** False when a frame was lost more than retransmissionsMax times. */
  delivered: boolean;
  /** Time per message, in order (ms). */
  perMessageMs: number[];
}

/** Airtime of a sequence of messages (e.g. [request, payment, receipt] sizes) over `profile`. */
export function airtime(profile: LinkProfile, messageSizes: readonly number[], rng?: Rng): Airtime {
  checkProfile(profile);
  assert(profile.lossRate === 0 || rng !== undefined, 'airtime: a lossy link needs an Rng');
  const out: Airtime = { airtimeMs: 0, frames: 0, retransmissions: 0, bytesOnAir: 0, delivered: true, perMessageMs: [] };
  for (const size of messageSizes) {
    assert(Number.isInteger(size) && size >= 0 && size <= MESSAGE_BYTES_MAX, `airtime: message size ${size} outside 0..${MESSAGE_BYTES_MAX}`);
    let ms = profile.messageLatencyMs;
    for (const payload of profile.frames(size)) {
      const bytes = payload + profile.frameOverheadBytes;
      const frameMs = (bytes * profile.bitsPerByte * 1000) / profile.bitRateBps + profile.frameLatencyMs;
      out.frames += 1;
      let attempt = 0;
      for (;;) {
        ms += frameMs;
        out.bytesOnAir += bytes;
        if (!lost(profile.lossRate, rng)) break;
        if (attempt === profile.retransmissionsMax) {
          out.delivered = false;
          break;
        }
        attempt += 1;
        out.retransmissions += 1;
        ms += profile.retransmitTimeoutMs;
      }
      if (!out.delivered) break;
    }
    out.perMessageMs.push(ms);
    out.airtimeMs += ms;
    if (!out.delivered) break;
  }
  assert(out.airtimeMs >= 0 && out.bytesOnAir >= 0, 'airtime: non-negative totals');
  return out;
}

/** One uniform draw in [0, 1) from 32 bits of the Rng. */
function lost(lossRate: number, rng: Rng | undefined): boolean {
  if (lossRate === 0) return false;
  if (lossRate >= 1) return true;
  assert(rng !== undefined, 'lost: no Rng');
  const b = rng(4);
  const u = (((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!) / 2 ** 32;
  return u < lossRate;
}

function checkProfile(p: LinkProfile): void {
  assert(p.bitRateBps > 0 && p.bitsPerByte >= 8, `${p.name}: bad bit rate`);
  assert(p.frameOverheadBytes >= 0 && p.frameLatencyMs >= 0 && p.messageLatencyMs >= 0, `${p.name}: negative overhead`);
  assert(p.lossRate >= 0 && p.lossRate <= 1, `${p.name}: loss rate outside [0, 1]`);
  assert(p.retransmitTimeoutMs >= 0 && Number.isInteger(p.retransmissionsMax) && p.retransmissionsMax >= 0, `${p.name}: bad retry settings`);
}
