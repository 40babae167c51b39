// Public surface of the console part: the operators' web console a node serves under /console
// (routes.ts), and the sample series behind its circulation chart (samples.ts).

export { registerConsole, type ConsoleNodes } from './routes.ts';
export { CIRCULATION_SAMPLES_MAX, CirculationSamples, type CirculationSample } from './samples.ts';
export { CONSOLE_ROWS_MAX } from './views.ts';
