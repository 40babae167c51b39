// The fleet simulator's analysis (issue 13): a RunRecord in, a deterministic FleetReport out.
export { analyse, writeReport, renderMarkdown, renderHtml, reportJson, type FleetReport } from './report.ts';
export { plots, plotSpecs, renderSvg, PLOT_FILES, type PlotFile } from './plots.ts';
export { classFigures, maxOfflineDays, tapCostMs, payerEnergyMj, linkMs, type ClassFigures, type OfflineLimit, type WorkloadRates } from './figures.ts';
export { linkingAttack, auc, type PrivacyFigures, type AdversaryScore } from './privacy.ts';
