// Commands beyond serve/audit/bench: the demo network's key ceremony, device hosts, and the
// end-to-end demo, the fleet simulator.
import type { Command } from './command.ts';
import { demoCommand } from './cmd_demo.ts';
import { deviceCommand } from './cmd_device.ts';
import { networkCommand } from './cmd_network.ts';
import { exposureCommand } from './cmd_exposure.ts';
import { operatorCommand } from './cmd_operator.ts';
import { simCommand } from './cmd_sim.ts';
import { warrantCommand } from './cmd_warrant.ts';

export const extraCommands: Command[] = [networkCommand, deviceCommand, demoCommand, exposureCommand, operatorCommand, simCommand, warrantCommand];
