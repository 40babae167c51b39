// Public surface of the console part: the operators' web console a node serves under /console
// (routes.ts), the sample series behind its circulation chart (samples.ts), and the bounds of its
// read-only screens (screens.ts).

export { registerConsole, type ConsoleNodes } from './routes.ts';
export { CIRCULATION_SAMPLES_MAX, CirculationSamples, type CirculationSample } from './samples.ts';
export { CONSOLE_ROWS_MAX } from './views.ts';
export { LOG_ENTRIES_SHOWN } from './screens.ts';
