// Device profiles (DESIGN §1, §4): what kind of machine hosts an SE, which credential class and
// policy tier it gets, how much SE storage it has (which sets its receipt-log capacity), which
// radios it speaks, and which hardware class the cost model should price its SE work on.
//
// The storage figures are estimates of the NVM a payment applet can claim, not datasheet totals:
// a phone's embedded SE or eSIM has ≈ 1–2 MB of flash shared by several applets; wearables and
// rings carry small SEs (≈ 100–300 KB free); vehicles and terminals use automotive or payment-grade
// SEs with room to spare. Each receipt-log entry costs RECEIPT_ENTRY_NVM_BYTES (≈ 2.7 KB), so a
// ring holds about ten receipts between syncs and a wallet the whole global maximum.

import { assert } from '../crypto/assert.ts';
import { BLE_MTU_MAX, BLE_MTU_MIN } from '../protocol/limits.ts';
import { DeviceClass, Tier } from '../policy/limits.ts';
import { RECEIPT_LOG_ENTRIES_MAX } from '../se/constants.ts';
import { RECEIPT_ENTRY_NVM_BYTES, RECEIPT_LOG_CAPACITY_MIN } from '../se/payment_limits.ts';

export type Radio = 'nfc' | 'ble';
/** Hardware class of the SE or MCU that runs the SE's work (cost_model.ts prices each). */
export type HardwareClass = 'se-smartcard' | 'se-embedded' | 'mcu-cortex-m4' | 'mcu-cortex-m33';

export interface DeviceProfile {
  readonly name: string;
  readonly label: string;
  readonly deviceClass: DeviceClass;
  readonly tier: Tier;
  /** NVM the payment applet may use, bytes. */
  readonly seStorageBytes: number;
  readonly radios: readonly Radio[];
  /** The ATT_MTU this device offers over BLE (the link uses the smaller of the two offers). */
  readonly bleMtu: number;
  readonly hardware: HardwareClass;
}

/** NVM the applet needs besides the receipt log: keys, credentials, policy, nullifier set, journal. */
export const SE_BASE_STATE_BYTES = 96 * 1024;
const KiB = 1024;

const profile = (p: DeviceProfile): DeviceProfile => p;

export const PROFILES = {
  wallet: profile({ name: 'wallet', label: 'phone wallet', deviceClass: DeviceClass.wallet, tier: Tier.full, seStorageBytes: 1024 * KiB, radios: ['nfc', 'ble'], bleMtu: 247, hardware: 'se-embedded' }),
  watch: profile({ name: 'watch', label: 'smart watch', deviceClass: DeviceClass.wearable, tier: Tier.iot, seStorageBytes: 256 * KiB, radios: ['nfc', 'ble'], bleMtu: 185, hardware: 'se-embedded' }),
  ring: profile({ name: 'ring', label: 'payment ring', deviceClass: DeviceClass.wearable, tier: Tier.iot, seStorageBytes: 128 * KiB, radios: ['nfc'], bleMtu: BLE_MTU_MIN, hardware: 'se-smartcard' }),
  vehicle: profile({ name: 'vehicle', label: 'car', deviceClass: DeviceClass.vehicle, tier: Tier.iot, seStorageBytes: 512 * KiB, radios: ['ble'], bleMtu: 247, hardware: 'mcu-cortex-m33' }),
  evCharger: profile({ name: 'evCharger', label: 'EV charger', deviceClass: DeviceClass.evCharger, tier: Tier.merchant, seStorageBytes: 512 * KiB, radios: ['nfc', 'ble'], bleMtu: 247, hardware: 'mcu-cortex-m33' }),
  pos: profile({ name: 'pos', label: 'POS terminal', deviceClass: DeviceClass.pos, tier: Tier.merchant, seStorageBytes: 1024 * KiB, radios: ['nfc', 'ble'], bleMtu: 247, hardware: 'se-embedded' }),
  transitGate: profile({ name: 'transitGate', label: 'transit gate', deviceClass: DeviceClass.transitGate, tier: Tier.merchant, seStorageBytes: 512 * KiB, radios: ['nfc'], bleMtu: BLE_MTU_MIN, hardware: 'se-embedded' }),
  vending: profile({ name: 'vending', label: 'vending machine', deviceClass: DeviceClass.vending, tier: Tier.merchant, seStorageBytes: 256 * KiB, radios: ['nfc', 'ble'], bleMtu: 23, hardware: 'mcu-cortex-m4' }),
} as const;
export type ProfileName = keyof typeof PROFILES;

/** Receipts a device of this profile can hold between syncs. */
export function receiptLogCapacityOf(p: DeviceProfile): number {
  const fit = Math.floor((p.seStorageBytes - SE_BASE_STATE_BYTES) / RECEIPT_ENTRY_NVM_BYTES);
  return Math.max(RECEIPT_LOG_CAPACITY_MIN, Math.min(RECEIPT_LOG_ENTRIES_MAX, fit));
}

export function profileNamed(name: string): DeviceProfile {
  const p = (PROFILES as Record<string, DeviceProfile>)[name];
  if (p === undefined) throw new RangeError(`unknown device profile "${name}" (expected one of ${Object.keys(PROFILES).join(', ')})`);
  return p;
}

for (const p of Object.values(PROFILES)) {
  assert(p.seStorageBytes > SE_BASE_STATE_BYTES, `${p.name}: storage below the applet's base state`);
  assert(p.radios.length > 0, `${p.name}: a device needs a radio`);
  assert(p.bleMtu >= BLE_MTU_MIN && p.bleMtu <= BLE_MTU_MAX, `${p.name}: BLE MTU out of range`);
}
