// Commands beyond serve/audit/bench: devices and the end-to-end demo.
import type { Command } from './command.ts';
import { demoCommand } from './cmd_demo.ts';

export const extraCommands: Command[] = [demoCommand];
