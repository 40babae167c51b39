// Public surface of the CLI: the command tree and its runner (bin/tally.mjs is the entry point).
export { rootCommand, runCli } from './main.ts';
export { CliError } from './args.ts';
