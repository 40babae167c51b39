// Public surface of the simulator: the in-process network and the end-to-end scenario.
export * from './network.ts';
export * from './report.ts';
export * from './scenario.ts';
