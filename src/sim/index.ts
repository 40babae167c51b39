// Public surface of the simulator: the in-process network and the end-to-end scenario.
export * from './network.ts';
export * from './report.ts';
export * from './scenario.ts';
export { AML_DEMO_RULES, runAmlScenario, type AmlRow, type AmlRun } from './aml_scenario.ts';
