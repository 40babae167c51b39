// The compliance officer's desk of an FI (docs/compliance.md): the watchlist import and list,
// cases (open, add an alert, note, close) and the suspicious-activity export, each under the
// operator's id, over the FI's book, clock and ids. Kept apart from FinancialIntermediary so the
// offline protocol's class stays about the protocol.

import type { Clock, RandomBytes } from '../context.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import type { FiLedger } from './book.ts';
import { addCaseAlert, addCaseNote, closeCase, listCases, loadCase, openCase, type CaseDeps, type ComplianceCase } from './compliance_cases.ts';
import { exportCase, exportCsv, type CaseExport } from './compliance_export.ts';
import { keyed } from './keyed.ts';
import { importWatchlist, listWatchlist, type StoredWatchlistEntry, type WatchlistImport, type WatchlistImportResult } from './watchlist.ts';

export class ComplianceDesk {
  constructor(
    private readonly ledger: FiLedger,
    private readonly clock: Clock,
    private readonly rng: RandomBytes,
  ) {}

  private deps(): CaseDeps {
    if (this.ledger.rules === null) throw new LedgerError(LedgerErrorCode.badRequest, `FI ${this.ledger.fiId} runs without AML/CFT rules`);
    return { db: this.ledger.db, rng: this.rng, nowMs: this.clock.nowMs() };
  }

  /** A case write, once per Idempotency-Key when one is given (the HTTP routes always give one). */
  private write<T>(key: string | undefined, operation: string, request: Record<string, unknown>, body: (d: CaseDeps) => Promise<T>): Promise<T> {
    const d = this.deps();
    return key === undefined ? body(d) : keyed(d.db, d.nowMs, key, `fi.case.${operation}`, request, (db) => body({ ...d, db }));
  }

  /**
   * Imports a list, once per Idempotency-Key when one is given (the HTTP route always gives one): a
   * retried append adds its entries once, and the log has one `watchlist.import` entry for it.
   */
  importWatchlist(input: WatchlistImport, operatorId: string, key?: string): Promise<WatchlistImportResult> {
    const d = this.deps();
    const request = { format: input.format, mode: input.mode, data: input.data, operatorId };
    return key === undefined ? importWatchlist(d, operatorId, input) : keyed(d.db, d.nowMs, key, 'fi.watchlist.import', request, (db) => importWatchlist({ ...d, db }, operatorId, input));
  }

  watchlist(): Promise<StoredWatchlistEntry[]> {
    return listWatchlist(this.ledger.db);
  }

  cases(customerId?: string): Promise<ComplianceCase[]> {
    return listCases(this.ledger.db, customerId);
  }

  case(caseId: string): Promise<ComplianceCase> {
    return loadCase(this.ledger.db, caseId);
  }

  openCase(customerId: string, alertIds: readonly string[], operatorId: string, key?: string): Promise<ComplianceCase> {
    return this.write(key, 'open', { customerId, alertIds: [...alertIds], operatorId }, (d) => openCase(d, operatorId, customerId, alertIds));
  }

  addAlert(caseId: string, alertId: string, operatorId: string, key?: string): Promise<ComplianceCase> {
    return this.write(key, 'addAlert', { caseId, alertId, operatorId }, (d) => addCaseAlert(d, operatorId, caseId, alertId));
  }

  addNote(caseId: string, text: string, operatorId: string, key?: string): Promise<ComplianceCase> {
    return this.write(key, 'note', { caseId, text, operatorId }, (d) => addCaseNote(d, operatorId, caseId, text));
  }

  close(caseId: string, reason: string, operatorId: string, key?: string): Promise<ComplianceCase> {
    return this.write(key, 'close', { caseId, reason, operatorId }, (d) => closeCase(d, operatorId, caseId, reason));
  }

  /** The case's export, logged as exported by `actor`. */
  export(caseId: string, format: 'json', actor: string): Promise<CaseExport>;
  export(caseId: string, format: 'csv', actor: string): Promise<string>;
  async export(caseId: string, format: 'json' | 'csv', actor: string): Promise<CaseExport | string> {
    const x = await exportCase(this.ledger.db, caseId, actor, format, this.clock.nowMs());
    return format === 'csv' ? exportCsv(x) : x;
  }
}
