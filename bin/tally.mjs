#!/usr/bin/env node
// Launcher: runs the TypeScript CLI through tsx so `npx tally` works from a clone with no build.
import { register } from 'tsx/esm/api';
register();
process.env.TALLY_CLI_MAIN = '1';
await import('../src/cli/main.ts');
