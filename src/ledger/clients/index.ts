// What other parties run to talk to a node (clients/): an FI's client of its CB, a device host's
// client of its FI, the wire readers both share, and the device-host sync helpers.
// What other parts may use; inside src/ledger files import by path.

export { CbHttpClient } from './cb_client.ts';
export { FiHttpClient, callDevice, callJson, distributionFromWire } from './fi_client.ts';
export { WireObject, answerInvalid, sameLength, type Json } from './wire_read.ts';
export {
  SYNC_ROUNDS_MAX, SyncCarrier, installDistribution, syncDevice, type CarriedBatch, type FiSyncPort,
  type SyncDeviceOptions, type SyncDeviceResult,
} from './device_sync.ts';
