// What a command handler sees and returns. A handler reads and stages state through `ctx.tx`,
// refuses with `refuse(SW.X, detail)` (enforce.ts), and returns its response value; the applet
// commits the staged state atomically only when the handler returns, then sends the response.

import type { Rng } from '../crypto/rng.ts';
import type { CommandSpec } from './commands.ts';
import type { StateTx } from './state.ts';

export interface HandlerContext {
  readonly tx: StateTx;
  readonly rng: Rng;
  /** The SE's clock reading for this command (milliseconds since the Unix epoch). */
  readonly nowMs: bigint;
  readonly p1: number;
  readonly p2: number;
}

export type Handler<Req, Res> = (ctx: HandlerContext, request: Req) => Res;

export interface RegisteredCommand<Req, Res> {
  readonly spec: CommandSpec<Req, Res>;
  readonly handler: Handler<Req, Res>;
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRegisteredCommand = RegisteredCommand<any, any>;

/** Pairs a table entry with its handler; the types of both must agree. */
export const command = <Req, Res>(spec: CommandSpec<Req, Res>, handler: Handler<Req, Res>): RegisteredCommand<Req, Res> => ({
  spec,
  handler,
});
