// Moves out of circulation while a double spend's value is not booked yet (docs/ledger.md "Double
// spends"). A double spend credits two SEs for one debit; the value it created is only known in
// aggregate at quiescence, but an honest payee that took the replayed payment may defund before
// then, and circulation may not hold it. Such a move (an unload, a reclaim) is not refused: the CB
// covers the shortfall from cb:incident, but only up to the outstanding exposure (L × cap(t) less
// what was drawn) of incidents it has recorded and not booked yet, oldest first, and records each
// draw against the incidents it is charged to (incident_draws, keyed by the move's journal key).
// With no such incident, or beyond their exposure, the move is refused with INSUFFICIENT_FUNDS as
// before: a shortfall no double spend explains is a bug, not something to cover.
//
// A later booking of an incident's value counts what was drawn against it: it moves only value −
// drawn. If the incident was charged more than its value (draws are charged oldest first, before
// anyone knows which incident the value came from), the excess is charged to the other open
// incidents within their exposure, and what none can take goes back from circulation to
// cb:incident. The booking then closes the incident to further draws. So, at every point,
//   −balance(cb:incident) = Σ bookings (journal, kind cb.bookIncidentValue) + Σ incident_draws
// and the invariant issued + booked incident value = Σ FI accounts + circulation stays exact with
// drawn value counted as booked. Every writer locks cb:circulation and cb:incident first (lockAccounts),
// which serialises the reads of open incidents and their draws.

import { assert } from '../../crypto/assert.ts';
import { CB_CIRCULATION_ACCOUNT, CB_INCIDENT_ACCOUNT } from '../book/accounts.ts';
import { checkMove, lockAccounts, post, type Entry } from '../book/journal.ts';
import { newId, type RandomBytes } from '../context.ts';
import { rowBigint, rowNullableString, rowString, type Queryable, type Tx } from '../db/adapter.ts';
import { LedgerError, LedgerErrorCode } from '../errors.ts';
import type { MoveResult } from './book.ts';

interface OpenIncident {
  id: string;
  /** exposure − net drawn: what it can still be charged. */
  roomMinor: bigint;
}

const DRAWN = 'CAST(COALESCE((SELECT SUM(d.amount_minor) FROM incident_draws d WHERE d.incident_id = i.id), 0) AS BIGINT)';

/** Incidents not booked yet, oldest first, with their room under the exposure. */
async function openIncidents(tx: Tx, except?: string): Promise<OpenIncident[]> {
  const rows = await tx.query(`SELECT i.id, i.exposure_minor, ${DRAWN} AS drawn_minor FROM incidents i WHERE i.booked_minor IS NULL ORDER BY i.created_ms, i.id`);
  return rows
    .filter((r) => rowString(r, 'id') !== except)
    .map((r) => ({ id: rowString(r, 'id'), roomMinor: rowBigint(r, 'exposure_minor') - rowBigint(r, 'drawn_minor') }))
    .filter((i) => i.roomMinor > 0n);
}

/** Charges up to `amountMinor` to open incidents (oldest first, within their room); returns the charges. */
function charge(open: readonly OpenIncident[], amountMinor: bigint): { charges: { id: string; amountMinor: bigint }[]; leftMinor: bigint } {
  const charges: { id: string; amountMinor: bigint }[] = [];
  let left = amountMinor;
  for (const i of open) {
    if (left === 0n) break;
    const take = i.roomMinor < left ? i.roomMinor : left;
    charges.push({ id: i.id, amountMinor: take });
    left -= take;
  }
  return { charges, leftMinor: left };
}

async function recordDraws(tx: Tx, journalKey: string, transactionId: string, nowMs: number, draws: readonly { id: string; amountMinor: bigint }[]): Promise<void> {
  for (const d of draws) {
    assert(d.amountMinor !== 0n, 'recordDraws: a draw moves value');
    await tx.run(
      'INSERT INTO incident_draws (journal_key, incident_id, transaction_id, amount_minor, created_ms) VALUES ($1, $2, $3, $4, $5)',
      [journalKey, d.id, transactionId, d.amountMinor, BigInt(nowMs)],
    );
  }
}

/**
 * Posts `amountMinor` from cb:circulation to `to` (an FI reserve), covering a shortfall from
 * cb:incident within the open incidents' exposure (see the file comment). Inside the caller's
 * transaction; the journal key is the operation's idempotency key.
 */
export async function postOutOfCirculation(
  tx: Tx,
  rng: RandomBytes,
  nowMs: number,
  m: { operation: string; to: string; amountMinor: bigint; journalKey: string; reference?: string },
): Promise<{ transactionId: string; toBalanceMinor: bigint; drawnMinor: bigint }> {
  assert(m.amountMinor > 0n, `${m.operation}: amount must be positive (checked by the caller)`);
  const accounts = await lockAccounts(tx, [CB_CIRCULATION_ACCOUNT, CB_INCIDENT_ACCOUNT, m.to]);
  for (const id of [CB_CIRCULATION_ACCOUNT, CB_INCIDENT_ACCOUNT, m.to]) {
    if (!accounts.has(id)) throw new LedgerError(LedgerErrorCode.unknownAccount, `${m.operation}: account ${id} does not exist in this book`);
  }
  const circulation = accounts.get(CB_CIRCULATION_ACCOUNT)!.balanceMinor;
  const shortfall = m.amountMinor > circulation ? m.amountMinor - (circulation > 0n ? circulation : 0n) : 0n;
  let charges: { id: string; amountMinor: bigint }[] = [];
  if (shortfall > 0n) {
    const c = charge(await openIncidents(tx), shortfall);
    if (c.leftMinor > 0n) {
      throw new LedgerError(
        LedgerErrorCode.insufficientFunds,
        `Account ${CB_CIRCULATION_ACCOUNT} has ${circulation} minor units available, the move needs ${m.amountMinor}; ` +
          `open double-spend incidents cover ${shortfall - c.leftMinor} of the ${shortfall} short`,
      );
    }
    charges = c.charges;
  }
  const entries: Entry[] = [
    ...(shortfall > 0n ? [{ accountId: CB_INCIDENT_ACCOUNT, amountMinor: -shortfall }] : []),
    ...(m.amountMinor > shortfall ? [{ accountId: CB_CIRCULATION_ACCOUNT, amountMinor: -(m.amountMinor - shortfall) }] : []),
    { accountId: m.to, amountMinor: m.amountMinor },
  ];
  checkMove(accounts, entries);
  const transactionId = newId(rng, 'jtx');
  const after = await post(tx, { id: transactionId, kind: m.operation, idempotencyKey: m.journalKey, createdMs: nowMs, entries, reference: m.reference });
  await recordDraws(tx, m.journalKey, transactionId, nowMs, charges);
  const toBalanceMinor = after.get(m.to);
  assert(toBalanceMinor !== undefined, 'post() must report the destination balance');
  return { transactionId, toBalanceMinor, drawnMinor: shortfall };
}

/**
 * Books `valueMinor`, the value a double spend created, against the incident `incidentId` (see
 * the file comment): moves value − drawn from cb:incident to cb:circulation, or gives back an
 * excess draw, and closes the incident to draws. A second booking of a closed incident adds its
 * value in full. `balanceMinor` is cb:incident's balance after; `transactionId` is this booking's
 * journal transaction, or the last draw's when the draws already covered the value.
 */
export async function bookIncident(
  tx: Tx,
  rng: RandomBytes,
  nowMs: number,
  b: { incidentId: string; valueMinor: bigint; journalKey: string },
): Promise<MoveResult> {
  const accounts = await lockAccounts(tx, [CB_CIRCULATION_ACCOUNT, CB_INCIDENT_ACCOUNT]);
  const rows = await tx.query(`SELECT i.booked_minor, ${DRAWN} AS drawn_minor, ` +
    '(SELECT d.transaction_id FROM incident_draws d WHERE d.incident_id = i.id ORDER BY d.created_ms DESC, d.journal_key DESC LIMIT 1) AS last_draw ' +
    'FROM incidents i WHERE i.id = $1', [b.incidentId]);
  assert(rows.length === 1, 'bookIncident: the caller checked that the incident exists');
  const row = rows[0]!;
  const bookedBefore = row['booked_minor'] === null ? null : rowBigint(row, 'booked_minor');
  const drawn = bookedBefore === null ? rowBigint(row, 'drawn_minor') : 0n;
  let transactionId = rowNullableString(row, 'last_draw');
  const postBooking = async (entries: Entry[]) => {
    checkMove(accounts, entries);
    transactionId = newId(rng, 'jtx');
    const after = await post(tx, { id: transactionId, kind: 'cb.bookIncidentValue', idempotencyKey: b.journalKey, createdMs: nowMs, entries, reference: b.incidentId });
    for (const [id, balanceMinor] of after) accounts.set(id, { ...accounts.get(id)!, balanceMinor });
  };
  if (b.valueMinor > drawn) {
    const rest = b.valueMinor - drawn;
    await postBooking([{ accountId: CB_INCIDENT_ACCOUNT, amountMinor: -rest }, { accountId: CB_CIRCULATION_ACCOUNT, amountMinor: rest }]);
  } else if (b.valueMinor < drawn) {
    // Charged more than its value: the other open incidents take the excess within their room.
    const excess = drawn - b.valueMinor;
    const { charges, leftMinor } = charge(await openIncidents(tx, b.incidentId), excess);
    const moved = excess - leftMinor;
    if (leftMinor > 0n) {
      // No open incident explains it: the excess goes back from circulation (refused if circulation lacks it).
      await postBooking([{ accountId: CB_CIRCULATION_ACCOUNT, amountMinor: -leftMinor }, { accountId: CB_INCIDENT_ACCOUNT, amountMinor: leftMinor }]);
    }
    if (moved > 0n) {
      assert(transactionId !== null, 'bookIncident: an incident with draws has a last draw');
      await recordDraws(tx, b.journalKey, transactionId, nowMs, [{ id: b.incidentId, amountMinor: -moved }, ...charges]);
    }
  }
  assert(transactionId !== null, 'bookIncident: a positive value moved something or was drawn before');
  const n = await tx.run('UPDATE incidents SET booked_minor = $2 WHERE id = $1', [b.incidentId, (bookedBefore ?? 0n) + b.valueMinor]);
  assert(n === 1, 'bookIncident: the incident row is updated');
  return { transactionId, balanceMinor: accounts.get(CB_INCIDENT_ACCOUNT)!.balanceMinor };
}

/** Value charged to each incident by draws (net of re-charges at bookings), for views and audits. */
export async function drawnByIncident(q: Queryable): Promise<Map<string, bigint>> {
  const rows = await q.query('SELECT incident_id, CAST(SUM(amount_minor) AS BIGINT) AS drawn_minor FROM incident_draws GROUP BY incident_id');
  return new Map(rows.map((r) => [rowString(r, 'incident_id'), rowBigint(r, 'drawn_minor')]));
}
