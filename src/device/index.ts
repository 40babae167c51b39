// Public surface of the device part: a Device (host + SE + radios), its profiles, provisioning
// against a World of institutions, and the device-class cost model. Only re-exports live here.
export * from './profiles.ts';
export * from './device.ts';
export * from './provision.ts';
export * from './cost_model.ts';
export * from './link_timing.ts';
export * from './slow_se.ts';
