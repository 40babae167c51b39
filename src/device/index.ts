// Public surface of the device part: a Device (host + SE + radios), its profiles and the
// device-class cost model. Only re-exports live here.
export * from './profiles.ts';
export * from './device.ts';
export * from './cost_model.ts';
export * from './link_timing.ts';
export * from './slow_se.ts';
