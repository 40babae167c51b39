// Picks the curve engine once per process: TALLY_ENGINE=blst|mcl when set (blst then must load),
// else the native blst addon when it was built, else mcl-wasm. `engineInfo` says which one runs
// and why, for `tally --version`, bench JSON (`machine.engine`) and operators' logs.

import { blstUnavailableReason, loadBlst } from './blst.ts';
import type { CurveEngine, EngineName } from './types.ts';

export type { CurveEngine, EngineName, Decoded, PointDecodeFailure } from './types.ts';

export interface EngineInfo {
  name: EngineName;
  detail: string;
  /** Why this engine and not the other. */
  reason: string;
}

/** Loads one named engine; null when it cannot run here. Tests use it to compare engines. */
export async function loadEngine(name: EngineName): Promise<CurveEngine | null> {
  // Handles are opaque outside each engine: erase their types here, once.
  if (name === 'blst') return loadBlst() as CurveEngine | null;
  return (await import('./mcl.ts')).mclEngine as unknown as CurveEngine;
}

async function choose(): Promise<{ engine: CurveEngine; info: EngineInfo }> {
  const asked = process.env.TALLY_ENGINE;
  if (asked !== undefined && asked !== '' && asked !== 'blst' && asked !== 'mcl') {
    throw new Error(`TALLY_ENGINE must be "blst" or "mcl", not ${JSON.stringify(asked)}`);
  }
  if (asked === 'mcl') {
    const engine = (await loadEngine('mcl'))!;
    return { engine, info: { name: 'mcl', detail: engine.detail, reason: 'TALLY_ENGINE=mcl' } };
  }
  const native = await loadEngine('blst');
  if (native !== null) {
    return { engine: native, info: { name: 'blst', detail: native.detail, reason: asked === 'blst' ? 'TALLY_ENGINE=blst' : 'default: native addon present' } };
  }
  if (asked === 'blst') throw new Error(`TALLY_ENGINE=blst but the native addon did not load: ${blstUnavailableReason}`);
  const engine = (await loadEngine('mcl'))!;
  return { engine, info: { name: 'mcl', detail: engine.detail, reason: `fallback: native addon not available (${blstUnavailableReason})` } };
}

const chosen = await choose();

/** The engine every G1Point / G2Point of this process lives in. */
export const engine: CurveEngine = chosen.engine;
export const engineInfo: EngineInfo = chosen.info;
