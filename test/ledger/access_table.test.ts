// Every route of a CB-and-FI ledger server × every kind of caller, over real HTTPS on loopback
// with a real network CA: nobody, staff in the wrong role, staff of another node, another
// customer, another device, another FI's node, a revoked token or certificate, and the right
// caller. The routes come from the server's own route list, and each must have a row in ROWS
// below: a route added without saying who may call it fails here. For each route every caller
// the row does not allow is refused with 401 or 403 and a typed error, and the books do not move
// (each node's audit, its row counts and its account balances are the same before and after);
// then the right caller makes the same request and succeeds.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest, Agent } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { bytesToHex } from '@noble/hashes/utils.js';
import { randomBytes } from 'node:crypto';
import { addOperator, revokeOperator, type Db, type FinancialIntermediary } from '../../src/ledger/index.ts';
import { ledgerRoutes } from '../../src/ledger/http/app.ts';
import { createOfflineEmbeddedApp } from '../../src/ledger/http/apps.ts';
import { signedHeaders } from '../../src/ledger/access/device_requests.ts';
import { createNetworkCa, httpsServerOptions, institutionFrom, issueNodeCertificate, RevokedSerials, writeRevokedFile, type IssuedCertificate, type PemPair } from '../../src/ledger/tls/index.ts';
import { decodeAttestation } from '../../src/se/messages.ts';
import { peekEnvelopeBody } from '../../src/se/signed.ts';
import { SIGNED_MESSAGE_BYTES_MAX } from '../../src/se/messages.ts';
import { provisionSe } from '../support/world.ts';
import { DeviceClass, Tier } from '../../src/policy/limits.ts';
import { fundFi, load, newCustomer, newDevice, openOfflineNet, openSe, pay, type OfflineNet, type TestDevice } from './offline_world.ts';
import type { SeClient } from '../../src/se/client.ts';
import { enrolSe } from '../../src/sim/network.ts';
import { recordHit } from '../../src/ledger/fi/compliance.ts';
import { G1Point, dealRegulatorKey, seededRng, type RegulatorKey } from '../../src/crypto/index.ts';
import { escrowOfRecord } from '../../src/ledger/cb/escrow_evidence.ts';
import { partialForEscrow } from '../../src/ledger/cb/disclosure.ts';
import { postPartial } from '../../src/ledger/cb/warrants.ts';

type CallerName =
  | 'none' | 'cbOperator' | 'cbAuditor' | 'cbRevoked' | 'fiOperator' | 'fiAuditor' | 'fiRevoked' | 'otherFiOperator'
  | 'owner' | 'otherCustomer' | 'device' | 'otherDevice' | 'otherFiDevice' | 'institution' | 'otherInstitution' | 'revokedInstitution'
  | 'cbRegulator' | 'holder1' | 'holder2';
const CALLERS: readonly CallerName[] = [
  'none', 'cbOperator', 'cbAuditor', 'cbRevoked', 'fiOperator', 'fiAuditor', 'fiRevoked', 'otherFiOperator', 'cbRegulator', 'holder1', 'holder2',
  'owner', 'otherCustomer', 'device', 'otherDevice', 'otherFiDevice', 'institution', 'otherInstitution', 'revokedInstitution',
];
const EVERYONE = CALLERS;

/** What a row builds for the request all callers send (path parameters, body). */
interface Built {
  params?: Record<string, string>;
  query?: string;
  body?: unknown;
  /** The device whose SE signs as `device` (default: Alice's), and the customer who is `owner`. */
  subject?: Subject;
}

interface Subject {
  device: { se: SeClient; deviceId: Uint8Array };
  customerToken: string;
}

interface Row {
  allow: readonly CallerName[];
  /** The caller that must succeed (default: the first allowed). */
  right?: CallerName;
  build(w: TableWorld): Promise<Built> | Built;
}

interface TableWorld {
  net: OfflineNet;
  alice: TestDevice;
  bob: TestDevice;
  carol: TestDevice;
  /** A customer the freeze and account rows act on. */
  eve: { customerId: string; accountId: string };
  /** Answers of earlier rows' right callers, by route key. */
  answers: Map<string, Record<string, unknown>>;
  /** A device enrolled over HTTP by the /devices row, and its SE. */
  enrolled?: { se: SeClient; deviceId: Uint8Array };
  freshSe?: { se: SeClient; certificate: Uint8Array; deviceId: Uint8Array };
  tokens: Record<string, string>;
  /** The regulator escrow key the SEs escrow under; its shares make the key holders' partials. */
  regulator: RegulatorKey;
}

const hex = bytesToHex;
const FI = '/fi/fi-a';
const staff = (...extra: CallerName[]): CallerName[] => ['fiOperator', ...extra];

/** The case the POST /compliance/cases row opened. */
const tableCase = (w: TableWorld): string => (w.answers.get(`POST ${FI}/compliance/cases`)!['case'] as { id: string }).id;

async function freshProvisionedSe(w: TableWorld, name: string) {
  const se = openSe(w.net, name).client;
  await provisionSe(w.net.worlds.get('fi-a')!, se, { deviceClass: DeviceClass.wallet, tier: Tier.basic });
  const info = await se.getInfo();
  return { se, certificate: info.certificate!, deviceId: info.deviceId! };
}

/** One row per route key `METHOD /path`; the table test refuses a route that has none. */
const ROWS: Record<string, Row> = {
  'GET /openapi.json': { allow: EVERYONE, build: () => ({}) },
  'GET /audit/network': { allow: ['cbAuditor', 'cbOperator'], build: () => ({ query: 'quiescent=0' }) },
  // The CB.
  'GET /cb/health': { allow: EVERYONE, build: () => ({}) },
  'GET /cb/audit': { allow: ['cbAuditor', 'cbOperator'], build: () => ({}) },
  'GET /cb/issued': { allow: ['cbAuditor', 'cbOperator'], build: () => ({}) },
  'GET /cb/fis/:fiId/reserve': { allow: ['cbOperator', 'cbAuditor', 'institution'], right: 'institution', build: () => ({ params: { fiId: 'fi-a' } }) },
  'POST /cb/fis': { allow: ['cbOperator'], build: () => ({ body: { fiId: 'fi-new' } }) },
  'POST /cb/issue': { allow: ['cbOperator'], build: () => ({ body: { fiId: 'fi-a', amountMinor: '100' } }) },
  'POST /cb/redeem': { allow: ['cbOperator'], build: () => ({ body: { fiId: 'fi-a', amountMinor: '100' } }) },
  'POST /cb/transfers': { allow: ['cbOperator', 'institution'], right: 'institution', build: () => ({ body: { fromFiId: 'fi-a', toFiId: 'fi-b', amountMinor: '1' } }) },
  'POST /cb/nullifiers': { allow: ['cbOperator'], build: () => ({ body: { items: [{ epoch: '1', nullifier: hex(randomBytes(48)), paymentHash: hex(randomBytes(32)) }] } }) },
  'GET /cb/nullifiers/conflicts': { allow: ['cbAuditor', 'cbOperator'], build: () => ({}) },
  'GET /cb/distribution/:tier': { allow: EVERYONE, build: () => ({ params: { tier: '1' } }) },
  'GET /cb/incidents': { allow: ['cbOperator', 'cbAuditor'], build: () => ({}) },
  'GET /cb/compliance/alerts': { allow: ['cbAuditor', 'cbOperator'], build: () => ({ query: 'fiId=fi-a' }) },
  'GET /cb/compliance/log/check': { allow: ['cbAuditor', 'cbOperator'], build: () => ({}) },
  'POST /cb/compliance/alerts/:alertId/resolve': {
    allow: ['cbOperator'],
    // An issuance above the default fi-net-issuance limit (100 000 000.00 a day): one open CB alert.
    build: async (w) => {
      await w.net.cb.ledger.issue({ fiId: 'fi-b', amountMinor: 10_000_000_001n, idempotencyKey: 'table/cb-alert-issue' });
      const alert = (await w.net.cb.complianceAlerts('fi-b')).find((a) => a.ruleId === 'fi-net-issuance' && a.status === 'open');
      assert.ok(alert, 'the issuance raised the CB alert');
      return { params: { alertId: alert.id }, body: { reason: 'opening float' } };
    },
  },
  'POST /cb/compliance/alerts/:alertId/override': {
    allow: ['cbOperator'],
    // A soft rule's alert about fi-b at the CB (a soft fi.net_issuance hit, as screenIssue writes it).
    build: async (w) => {
      const d = { db: w.net.cb.db, rng: (n: number) => new Uint8Array(randomBytes(n)), nowMs: w.net.clock.nowMs() };
      const id = await w.net.cb.db.transaction((tx) => recordHit(tx, d, 'fi-b', { ruleId: 'table-issuance-review', mode: 'soft', severity: 'high', detail: 'raised for the table' }, false, 'cb', true));
      return { params: { alertId: id }, body: { reason: 'agreed with the FI' } };
    },
  },
  'GET /cb/issuer-keys/:epoch': { allow: EVERYONE, build: async (w) => ({ params: { epoch: String((await w.net.cb.distribution(1)).currentEpoch) } }) },
  'GET /cb/info': { allow: EVERYONE, build: () => ({}) },
  'GET /cb/policy': { allow: EVERYONE, build: () => ({}) },
  'GET /cb/policy/:version': { allow: EVERYONE, build: async (w) => ({ params: { version: String((await w.net.cb.distribution(1)).policyVersion) } }) },
  'GET /cb/fis/:fiId/customers/:customerId/blocked': { allow: ['cbOperator', 'institution'], right: 'institution', build: (w) => ({ params: { fiId: 'fi-a', customerId: w.alice.customerId } }) },
  'POST /cb/devices': {
    allow: ['institution'],
    build: async (w) => {
      const fresh = await freshProvisionedSe(w, 'cb-registered');
      const att = decodeAttestation(peekEnvelopeBody(await fresh.se.attest(new Uint8Array(32)), SIGNED_MESSAGE_BYTES_MAX, 'attestation'));
      const info = await fresh.se.getInfo();
      return { body: { fiId: 'fi-a', customerId: w.alice.customerId, deviceId: hex(fresh.deviceId), kPoint: hex(att.kPoint), attestationKey: hex(info.attestationPublicKey!) } };
    },
  },
  'POST /cb/credentials': {
    allow: ['institution'],
    build: async (w) => {
      // A device of Alice's enrolled at fi-a and not yet credentialed, as her FI would forward its
      // issuance: the FI's nonce, the SE's signed request.
      const se = openSe(w.net, 'alice-uncredentialed').client;
      await provisionSe(w.net.worlds.get('fi-a')!, se, { deviceClass: DeviceClass.wallet, tier: Tier.basic });
      const deviceId = await enrolSe(w.net.fiA, se, { owner: w.alice, tier: Tier.basic, key: 'uncredentialed' });
      const started = await w.net.fiA.startIssuance({ deviceId });
      const request = await se.beginIssuance(started);
      const device = await w.net.fiA.device(deviceId);
      const epoch = started.epoch;
      return {
        body: {
          fiId: 'fi-a', customerId: w.alice.customerId, deviceId: hex(deviceId), tier: device.tier, deviceClass: device.deviceClass,
          epoch: String(epoch), issuerNonce: hex(started.issuerNonce), request: hex(request),
        },
      };
    },
  },
  'POST /cb/circulation/fund': { allow: ['institution'], build: () => ({ body: { fiId: 'fi-a', amountMinor: '5' } }) },
  'POST /cb/circulation/defund': { allow: ['institution'], build: () => ({ body: { fiId: 'fi-a', amountMinor: '5' } }) },
  'POST /cb/payments': {
    allow: ['institution'],
    build: async (w) => {
      // The receipt Bob's SE holds of a payment from Alice, as fi-a forwards it at Bob's sync.
      await pay(w.alice, w.bob, 50n);
      const batch = await w.bob.client.exportSyncBatch();
      return { body: { fiId: 'fi-a', deviceId: hex(w.bob.deviceId), records: batch.payments.map(hex) } };
    },
  },
  'POST /cb/reclaims': {
    allow: ['institution'],
    // A nullifier must be a G1 point (it goes on the signed revocation list): a fresh random one.
    build: () => ({ body: { fiId: 'fi-a', epoch: '1', nullifier: hex(G1Point.BASE.mul(BigInt(`0x${hex(randomBytes(16))}`) + 1n).toBytes()), paymentHash: hex(randomBytes(32)), amountMinor: '7' } }),
  },
  // Alice's FI reports her device as unfrozen: it is on no list, so the right call changes nothing either.
  'POST /cb/device-revocations': {
    allow: ['institution'],
    build: async (w) => ({ body: { fiId: 'fi-a', customerId: w.alice.customerId, revoked: false, deviceKeys: [hex((await w.net.fiA.device(w.alice.deviceId)).publicKey)] } }),
  },
  'GET /cb/device-revocations': { allow: ['cbOperator', 'cbAuditor'], build: () => ({}) },
  'POST /cb/incidents/book': { allow: ['cbOperator', 'institution', 'otherInstitution'], build: () => ({ body: { amountMinor: '1', reference: 'table-test' } }) },
  // Warrants (cb/warrants.ts): the payment the /cb/payments row registered is the warranted one.
  'POST /cb/warrants': {
    allow: ['cbRegulator'],
    build: async (w) => ({ body: { warrantId: WARRANT, paymentHash: hex((await warrantedRecord(w)).paymentHash), authority: 'District Court', reason: 'table' } }),
  },
  'GET /cb/warrants': { allow: ['cbRegulator', 'holder1', 'holder2', 'cbAuditor'], build: () => ({}) },
  'GET /cb/warrants/:warrantId': { allow: ['cbRegulator', 'holder1', 'holder2', 'cbAuditor'], build: () => ({ params: { warrantId: WARRANT } }) },
  'GET /cb/warrants/:warrantId/escrow': { allow: ['holder1', 'holder2'], build: () => ({ params: { warrantId: WARRANT } }) },
  'POST /cb/warrants/:warrantId/holders/:holder/partial': {
    allow: ['holder1'],
    build: async (w) => ({ params: { warrantId: WARRANT, holder: '1' }, body: { partial: hex(await holderPartial(w, 1)) } }),
  },
  'POST /cb/warrants/:warrantId/holders/:holder/refusal': { allow: ['holder2'], build: () => ({ params: { warrantId: WARRANT, holder: '2' }, body: { reason: 'not satisfied' } }) },
  'POST /cb/warrants/:warrantId/disclose': {
    allow: ['cbRegulator'],
    // Holder 3 answers outside the table's callers, so the quorum of 2 is in.
    build: async (w) => {
      const authority = w.net.cb.escrow();
      await postPartial(w.net.cb.db, 1, authority, { warrantId: WARRANT, holder: 3, partial: await holderPartial(w, 3) });
      return { params: { warrantId: WARRANT } };
    },
  },
  'GET /cb/disclosure/log': { allow: ['cbRegulator', 'cbAuditor'], build: () => ({}) },
  // The FI.
  [`GET ${FI}/health`]: { allow: EVERYONE, build: () => ({}) },
  [`GET ${FI}/audit`]: { allow: ['fiAuditor', 'fiOperator'], build: () => ({}) },
  [`POST ${FI}/customers`]: { allow: staff(), build: () => ({ body: { tier: 1, identity: { name: 'Dora' } } }) },
  [`GET ${FI}/customers/:customerId`]: { allow: staff('owner'), right: 'owner', build: (w) => ({ params: { customerId: w.alice.customerId } }) },
  [`POST ${FI}/customers/:customerId/freeze`]: { allow: staff(), build: (w) => ({ params: { customerId: w.eve.customerId }, body: { reason: 'access table: freeze' } }) },
  [`POST ${FI}/customers/:customerId/unfreeze`]: { allow: staff(), build: (w) => ({ params: { customerId: w.eve.customerId }, body: { reason: 'access table: unfreeze' } }) },
  [`POST ${FI}/customers/:customerId/accounts`]: { allow: staff(), build: (w) => ({ params: { customerId: w.eve.customerId } }) },
  [`GET ${FI}/accounts/:accountId`]: { allow: staff('owner', 'device'), right: 'owner', build: (w) => ({ params: { accountId: w.alice.accountId } }) },
  [`POST ${FI}/treasury/credit`]: { allow: staff(), build: () => ({ body: { amountMinor: '10', reference: 'table' } }) },
  [`POST ${FI}/treasury/debit`]: { allow: staff(), build: () => ({ body: { amountMinor: '10' } }) },
  [`POST ${FI}/accounts/:accountId/deposit`]: { allow: staff(), build: (w) => ({ params: { accountId: w.alice.accountId }, body: { amountMinor: '10' } }) },
  [`POST ${FI}/accounts/:accountId/withdraw`]: { allow: staff('owner'), right: 'owner', build: (w) => ({ params: { accountId: w.alice.accountId }, body: { amountMinor: '10' } }) },
  [`POST ${FI}/accounts/:accountId/transfer-out`]: { allow: staff('owner'), right: 'owner', build: (w) => ({ params: { accountId: w.alice.accountId }, body: { toFiId: 'fi-b', amountMinor: '10' } }) },
  [`POST ${FI}/accounts/:accountId/transfer-in`]: { allow: staff(), build: (w) => ({ params: { accountId: w.alice.accountId }, body: { fromFiId: 'fi-b', amountMinor: '10' } }) },
  [`GET ${FI}/distribution/:tier`]: { allow: EVERYONE, build: () => ({ params: { tier: '1' } }) },
  [`GET ${FI}/compliance/alerts`]: { allow: staff('fiAuditor'), build: () => ({}) },
  [`GET ${FI}/compliance/log/check`]: { allow: staff('fiAuditor'), build: () => ({}) },
  [`POST ${FI}/compliance/alerts/:alertId`]: {
    allow: staff(),
    // Two deposits take Eve's holding over the default monitor rule's 100 000.00: one open alert.
    build: async (w) => {
      await fundFi(w.net, w.net.fiA, 12_000_000n, 'table/alert-fund');
      for (const k of ['1', '2']) await w.net.fiA.ledger.deposit({ accountId: w.eve.accountId, amountMinor: 6_000_000n, idempotencyKey: `table/eve-deposit-${k}` });
      const alert = (await w.net.fiA.alerts(w.eve.customerId)).find((a) => a.ruleId === 'holding-watch' && a.status === 'open');
      assert.ok(alert, 'the deposits raised the holding alert');
      return { params: { alertId: alert.id }, body: { action: 'assign', text: 'Finn' } };
    },
  },
  [`POST ${FI}/compliance/watchlist`]: {
    allow: staff(),
    build: () => ({ body: { format: 'csv', mode: 'append', data: 'name,aliases,date_of_birth,country,risk_level,list_source,expiry_date\nTable Listed,,,,low,TABLE,2030-12-31\n' } }),
  },
  [`GET ${FI}/compliance/watchlist`]: { allow: staff('fiAuditor'), build: () => ({}) },
  [`GET ${FI}/compliance/cases`]: { allow: staff('fiAuditor'), build: () => ({}) },
  [`POST ${FI}/compliance/cases`]: { allow: staff(), build: (w) => ({ body: { customerId: w.eve.customerId } }) },
  [`GET ${FI}/compliance/cases/:caseId`]: { allow: staff('fiAuditor'), build: (w) => ({ params: { caseId: tableCase(w) } }) },
  [`POST ${FI}/compliance/cases/:caseId/alerts`]: {
    allow: staff(),
    // The alert the alerts row assigned joined a case of its own; a monitor hit of another rule gives Eve one in none.
    build: async (w) => {
      const d = { db: w.net.fiA.db, rules: w.net.fiA.ledger.rules!, rng: (n: number) => new Uint8Array(randomBytes(n)), nowMs: w.net.clock.nowMs() };
      await w.net.fiA.db.transaction((tx) => recordHit(tx, d, w.eve.customerId, { ruleId: 'table-watch', mode: 'monitor', severity: 'low', detail: 'raised for the table' }));
      const inCases = new Set((await w.net.fiA.compliance.cases(w.eve.customerId)).flatMap((c) => c.alertIds));
      const free = (await w.net.fiA.alerts(w.eve.customerId)).find((a) => !inCases.has(a.id));
      assert.ok(free, 'Eve has an alert in no case');
      return { params: { caseId: tableCase(w) }, body: { alertId: free.id } };
    },
  },
  [`POST ${FI}/compliance/cases/:caseId/notes`]: { allow: staff(), build: (w) => ({ params: { caseId: tableCase(w) }, body: { text: 'table note' } }) },
  [`POST ${FI}/compliance/cases/:caseId/close`]: { allow: staff(), build: (w) => ({ params: { caseId: tableCase(w) }, body: { reason: 'table closes it' } }) },
  [`GET ${FI}/compliance/cases/:caseId/export`]: { allow: staff('fiAuditor'), build: (w) => ({ params: { caseId: tableCase(w) }, query: 'format=json' }) },
  [`POST ${FI}/enrolment-challenge`]: {
    allow: staff('owner'), right: 'owner',
    build: async (w) => {
      w.freshSe = await freshProvisionedSe(w, 'alice-second');
      return { body: { customerId: w.alice.customerId, accountId: w.alice.accountId, certificate: hex(w.freshSe.certificate) } };
    },
  },
  [`POST ${FI}/devices`]: {
    allow: staff('owner'), right: 'owner',
    build: async (w) => {
      const fresh = w.freshSe!;
      const challenge = w.net.fiA.enrolmentChallenge({ customerId: w.alice.customerId, accountId: w.alice.accountId, certificate: fresh.certificate });
      const attestation = await fresh.se.attest(challenge);
      w.enrolled = { se: fresh.se, deviceId: fresh.deviceId };
      return { body: { customerId: w.alice.customerId, accountId: w.alice.accountId, certificate: hex(fresh.certificate), attestation: hex(attestation), tier: Tier.basic } };
    },
  },
  [`GET ${FI}/devices/:deviceId`]: { allow: staff('owner', 'device'), right: 'device', build: (w) => ({ params: { deviceId: hex(w.alice.deviceId) } }) },
  [`POST ${FI}/devices/:deviceId/issuance`]: {
    allow: ['device'],
    build: (w) => ({ params: { deviceId: hex(w.enrolled!.deviceId) }, body: {}, subject: enrolledSubject(w) }),
  },
  [`POST ${FI}/devices/:deviceId/credentials`]: {
    allow: ['device'],
    build: async (w) => {
      const started = w.answers.get(`POST ${FI}/devices/:deviceId/issuance`)!;
      const issuerNonce = started['issuerNonce'] as string;
      const request = await w.enrolled!.se.beginIssuance({
        epoch: BigInt(started['epoch'] as string), tier: Number(started['tier']), issuerNonce: Buffer.from(issuerNonce, 'hex'),
        issuerKeyCert: Buffer.from(started['issuerKeyCert'] as string, 'hex'),
      });
      return { params: { deviceId: hex(w.enrolled!.deviceId) }, body: { issuerNonce, request: hex(request) }, subject: enrolledSubject(w) };
    },
  },
  [`POST ${FI}/devices/:deviceId/vouchers`]: {
    allow: ['device'],
    build: async (w) => ({ params: { deviceId: hex(w.alice.deviceId) }, body: { amountMinor: '100', loadCounter: String((await w.alice.client.getInfo()).loadCounter) } }),
  },
  [`GET ${FI}/devices/:deviceId/vouchers/:counter`]: { allow: staff('device'), right: 'device', build: (w) => ({ params: { deviceId: hex(w.alice.deviceId), counter: '0' } }) },
  [`POST ${FI}/unloads`]: {
    allow: ['device'],
    build: async (w) => ({ body: { record: hex((await w.alice.client.makeUnloadRecord(5n)).record) } }),
  },
  [`POST ${FI}/sync`]: {
    allow: ['device'],
    build: async (w) => {
      const batch = await w.alice.client.exportSyncBatch();
      return { body: { report: hex(batch.report), payments: batch.payments.map(hex), unloadRecords: [] } };
    },
  },
  [`POST ${FI}/resume`]: { allow: staff(), build: () => ({}) },
  // The console (src/ledger/console): shells and assets hold no data; each data route sits behind its node's gate.
  'GET /console/': { allow: EVERYONE, build: () => ({}) },
  'GET /console/overview': { allow: EVERYONE, build: () => ({}) },
  'GET /console/assets/:file': { allow: EVERYONE, build: () => ({ params: { file: 'console.js' } }) },
  'GET /console/nodes': { allow: EVERYONE, build: () => ({}) },
  'GET /console/cb/whoami': { allow: ['cbOperator', 'cbAuditor', 'cbRegulator', 'holder1', 'holder2'], right: 'cbAuditor', build: () => ({}) },
  'GET /console/cb/circulation': { allow: ['cbAuditor', 'cbOperator'], build: () => ({}) },
  'GET /console/fi/fi-a/whoami': { allow: staff('fiAuditor', 'owner', 'otherCustomer'), right: 'owner', build: () => ({}) },
  'GET /console/fi/fi-a/customers': { allow: staff('fiAuditor'), build: () => ({}) },
  'GET /console/fi/fi-a/devices': { allow: staff('fiAuditor'), build: () => ({}) },
  'GET /console/fi/fi-a/me': { allow: ['owner', 'otherCustomer'], build: () => ({}) },
  // The read-only screens (console/screens.ts): each node's staff and auditors; no customer, no other node's staff.
  'GET /console/cb/incidents': { allow: ['cbAuditor', 'cbOperator'], build: () => ({}) },
  'GET /console/cb/policy': { allow: ['cbAuditor', 'cbOperator'], build: () => ({}) },
  'GET /console/cb/logs': { allow: ['cbAuditor', 'cbOperator'], build: () => ({}) },
  'GET /console/cb/banks': { allow: ['cbAuditor', 'cbOperator'], build: () => ({}) },
  'GET /console/fi/fi-a/incidents': { allow: staff('fiAuditor'), build: () => ({}) },
  'GET /console/fi/fi-a/policy': { allow: staff('fiAuditor'), build: () => ({}) },
  'GET /console/fi/fi-a/logs': { allow: staff('fiAuditor'), build: () => ({}) },
};

const WARRANT = 'table-warrant';

async function warrantedRecord(w: TableWorld): Promise<{ paymentHash: Uint8Array; record: Uint8Array }> {
  const rows = await w.net.cb.db.query<{ payment_hash: Uint8Array; record: Uint8Array }>('SELECT payment_hash, record FROM payment_evidence ORDER BY created_ms, payment_hash LIMIT 1');
  assert.ok(rows[0], 'the /cb/payments row registered a payment');
  return { paymentHash: rows[0].payment_hash, record: rows[0].record };
}

/** Holder i's partial for the table's warrant, as holder i's own node computes it. */
async function holderPartial(w: TableWorld, i: number): Promise<Uint8Array> {
  const { paymentHash, record } = await warrantedRecord(w);
  return partialForEscrow({ share: w.regulator.shares[i - 1]!, warrantId: WARRANT, escrow: escrowOfRecord(paymentHash, record), rng: seededRng(`table/holder-${i}`) });
}

function enrolledSubject(w: TableWorld): Subject {
  return { device: w.enrolled!, customerToken: w.tokens['alice']! };
}

async function tableCounts(db: Db): Promise<string> {
  const tables = db.dialect === 'sqlite'
    ? await db.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    : await db.query("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename");
  const out: string[] = [];
  for (const t of tables) out.push(`${String(t['name'])}=${String((await db.query(`SELECT COUNT(*) AS n FROM "${String(t['name'])}"`))[0]!['n'])}`);
  const balances = await db.query('SELECT id, balance_minor FROM accounts ORDER BY id');
  return `${out.join(',')}|${balances.map((b) => `${String(b['id'])}:${String(b['balance_minor'])}`).join(',')}`;
}

/** What must not move when a caller is refused: every book's audit, row counts and balances. */
async function books(net: OfflineNet): Promise<string> {
  const audits = [await net.cb.ledger.audit(), await net.fiA.ledger.audit(), await net.fiB.ledger.audit()].map(({ checkedAtMs: _, ...a }) => a);
  const counts = await Promise.all(net.dbs.map((d) => tableCounts(d.db)));
  return JSON.stringify(audits, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) + counts.join('\n');
}

interface Sent {
  status: number;
  body: Record<string, unknown>;
}

describe('every route × every caller, over HTTPS with the network CA', () => {
  let net: OfflineNet;
  let app: FastifyInstance;
  let base: string;
  let dir: string;
  let revoked: RevokedSerials;
  let w: TableWorld;
  const agents = new Map<string, Agent>();
  let ca: PemPair;
  const certs: Record<string, IssuedCertificate> = {};

  before(async () => {
    const regulator = dealRegulatorKey({ threshold: 2, holders: 3, rng: seededRng('access-table/regulator') });
    net = await openOfflineNet('sqlite', 'access-table', { verifyWorkers: 0, regulator });
    await fundFi(net, net.fiA, 1_000_000n, 'fund-a');
    await fundFi(net, net.fiB, 1_000_000n, 'fund-b');
    const alice = await newDevice(net, net.fiA, 'alice', { depositMinor: 50_000n });
    const bob = await newDevice(net, net.fiA, 'bob', { depositMinor: 50_000n });
    const carol = await newDevice(net, net.fiB, 'carol', { depositMinor: 50_000n });
    await load(alice, 10_000n, 'alice-load');
    const eve = await newCustomer(net.fiA, 'eve', Tier.basic);

    const tokens: Record<string, string> = {
      cbOperator: (await addOperator(net.cb.db, { name: 'CB operator', role: 'cb-operator' })).token,
      cbAuditor: (await addOperator(net.cb.db, { name: 'CB auditor', role: 'auditor' })).token,
      fiOperator: (await addOperator(net.fiA.db, { name: 'FI operator', role: 'fi-operator' })).token,
      fiAuditor: (await addOperator(net.fiA.db, { name: 'FI auditor', role: 'auditor' })).token,
      otherFiOperator: (await addOperator(net.fiB.db, { name: 'Other FI operator', role: 'fi-operator' })).token,
      alice: (await addOperator(net.fiA.db, { name: 'Alice', role: 'customer', customerId: alice.customerId })).token,
      bob: (await addOperator(net.fiA.db, { name: 'Bob', role: 'customer', customerId: bob.customerId })).token,
      cbRegulator: (await addOperator(net.cb.db, { name: 'Regulator', role: 'regulator' })).token,
      holder1: (await addOperator(net.cb.db, { name: 'Key holder 1', role: 'key-holder', holderIndex: 1 })).token,
      holder2: (await addOperator(net.cb.db, { name: 'Key holder 2', role: 'key-holder', holderIndex: 2 })).token,
    };
    for (const [name, db, role] of [['cbRevoked', net.cb.db, 'cb-operator'], ['fiRevoked', net.fiA.db, 'fi-operator']] as const) {
      const made = await addOperator(db, { name, role });
      await revokeOperator(db, { operatorId: made.record.operatorId });
      tokens[name] = made.token;
    }

    dir = mkdtempSync(path.join(os.tmpdir(), 'tally-access-table-'));
    ca = await createNetworkCa();
    const cbCert = await issueNodeCertificate(ca, { role: 'cb' });
    certs['institution'] = await issueNodeCertificate(ca, { role: 'fi', fiId: 'fi-a' });
    certs['otherInstitution'] = await issueNodeCertificate(ca, { role: 'fi', fiId: 'fi-b' });
    certs['revokedInstitution'] = await issueNodeCertificate(ca, { role: 'fi', fiId: 'fi-a' });
    const revokedFile = path.join(dir, 'revoked.json');
    writeRevokedFile(revokedFile, [certs["revokedInstitution"].serial]);
    revoked = RevokedSerials.open(revokedFile);

    app = await createOfflineEmbeddedApp(
      { cb: net.cb, fis: [net.fiA] },
      {
        https: httpsServerOptions({ key: cbCert.key, cert: cbCert.cert, ca: ca.cert }),
        cbCallers: { institution: institutionFrom(revoked) },
        rateLimits: { audit: { burst: 1000, perSecond: 1000 }, sync: { burst: 1000, perSecond: 1000 }, issuance: { burst: 1000, perSecond: 1000 } },
      },
    );
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    w = { net, alice, bob, carol, eve, answers: new Map(), tokens, regulator };
  });
  after(async () => {
    for (const a of agents.values()) a.destroy();
    await app?.close();
    revoked?.close();
    await net?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function agentFor(caller: CallerName): Agent {
    const key = certs[caller] === undefined ? 'plain' : caller;
    let a = agents.get(key);
    if (a === undefined) {
      const cert = certs[caller];
      a = new Agent({ ca: ca.cert, keepAlive: true, ...(cert === undefined ? {} : { cert: cert.cert, key: cert.key }) });
      agents.set(key, a);
    }
    return a;
  }

  async function headersFor(caller: CallerName, subject: Subject, method: string, urlPath: string, body: string): Promise<Record<string, string>> {
    const t = w.tokens;
    const token = (name: string) => ({ authorization: `Bearer ${t[name]!}` });
    const other = subject.device.deviceId === w.bob.deviceId ? w.alice : w.bob;
    switch (caller) {
      case 'owner': return token(subject.customerToken === t['bob'] ? 'bob' : 'alice');
      case 'otherCustomer': return token(subject.customerToken === t['bob'] ? 'alice' : 'bob');
      case 'device': return signedHeaders(subject.device.se, method, urlPath, body);
      case 'otherDevice': return signedHeaders(other.client, method, urlPath, body);
      case 'otherFiDevice': return signedHeaders(w.carol.client, method, urlPath, body);
      case 'none': case 'institution': case 'otherInstitution': case 'revokedInstitution': return {};
      default: return token(caller);
    }
  }

  function send(caller: CallerName, method: string, urlPath: string, body: string | undefined, headers: Record<string, string>): Promise<Sent> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(new URL(urlPath, base), {
        method, agent: agentFor(caller),
        headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }), 'idempotency-key': `table/${method}/${urlPath}` },
      }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          // The console's pages and assets are not JSON; everything else must be.
          if (!/^application\/json/.test(String(res.headers['content-type'])) && res.statusCode === 200 && urlPath.startsWith('/console/')) {
            resolve({ status: 200, body: { text } });
            return;
          }
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
          } catch (e) {
            reject(new Error(`${method} ${urlPath}: answer is not JSON (${res.statusCode}): ${text.slice(0, 200)}`));
          }
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  test('the table has a row for every route the server registered, and no row for a route it does not have', () => {
    const keys = ledgerRoutes(app).filter((r) => r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`);
    const missing = keys.filter((k) => ROWS[k] === undefined);
    assert.deepEqual(missing, [], `routes with no access row: ${missing.join(', ')}`);
    const stale = Object.keys(ROWS).filter((k) => !keys.includes(k));
    assert.deepEqual(stale, [], `rows for no route: ${stale.join(', ')}`);
  });

  test('every caller a route does not allow is refused with 401/403 and changes nothing; the right caller succeeds', async (t) => {
    const routes = ledgerRoutes(app).filter((r) => r.method !== 'HEAD');
    const refusals = new Map<string, number>();
    for (const route of routes) {
      const key = `${route.method} ${route.url}`;
      const row = ROWS[key]!;
      const built = await row.build(w);
      const subject = built.subject ?? { device: { se: w.alice.client, deviceId: w.alice.deviceId }, customerToken: w.tokens['alice']! };
      const urlPath = route.url.replace(/:([A-Za-z]+)/g, (_, p: string) => built.params![p]!) + (built.query === undefined ? '' : `?${built.query}`);
      const body = route.method === 'GET' ? undefined : JSON.stringify(built.body ?? null);
      const before = await books(net);
      for (const caller of CALLERS) {
        if (row.allow.includes(caller)) continue;
        const r = await send(caller, route.method, urlPath, body, await headersFor(caller, subject, route.method, urlPath, body ?? ''));
        const code = (r.body['error'] as { code?: string } | undefined)?.code;
        assert.ok(r.status === 401 || r.status === 403, `${key} as ${caller}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
        assert.ok(['UNAUTHENTICATED', 'FORBIDDEN', 'REQUEST_REPLAYED'].includes(code ?? ''), `${key} as ${caller}: code ${code}`);
        refusals.set(caller, (refusals.get(caller) ?? 0) + 1);
      }
      assert.equal(await books(net), before, `${key}: a refused call changed the books`);
      const right = row.right ?? row.allow[0]!;
      const ok = await send(right, route.method, urlPath, body, await headersFor(right, subject, route.method, urlPath, body ?? ''));
      assert.ok(ok.status >= 200 && ok.status < 300, `${key} as ${right} (the right caller): ${ok.status} ${JSON.stringify(ok.body).slice(0, 300)}`);
      w.answers.set(key, ok.body);
    }
    // Every kind of wrong caller was met and refused somewhere.
    for (const caller of CALLERS) assert.ok((refusals.get(caller) ?? 0) > 0, `${caller} was never refused`);
    const total = [...refusals.values()].reduce((a, b) => a + b, 0);
    assert.ok(total > 500, `only ${total} refusals`);
    t.diagnostic(`${routes.length} routes, ${total} refusals`);
  });
});
