// The payer and payee state machines against real SEs and a hostile peer: each state is usable
// once, a declined request moves no value, and a payer refuses a junk request, a receipt for
// another payment and a receipt whose signature does not verify (keeping its payment to re-send).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeWorld } from '../../test/support/world.ts';
import { paymentSe, type TestSe } from '../../test/support/payments.ts';
import { ExchangeError, type ExchangeErrorCode } from './exchange.ts';
import { memoryLinkPair } from './memory_link.ts';
import { decodePaymentRequest, decodeReceipt, encodeReceipt, paymentHash } from './messages.ts';
import { nfcTransport } from './framing_nfc.ts';
import { PayeeReady } from './payee.ts';
import { PayerAwaitingRequest, PayerLinkLost, type PayerSePort } from './payer.ts';
import type { PayeeSePort } from './payee.ts';

const payerPort = (se: TestSe): PayerSePort => ({ authorize: async (r, a) => (await se.client.authorizePayment(r, a)).payment });
const payeePort = (se: TestSe): PayeeSePort => ({ buildRequest: (a) => se.client.buildPaymentRequest(a), accept: (p) => se.client.acceptPayment(p) });
const isExchange = (code: ExchangeErrorCode) => (e: unknown) => e instanceof ExchangeError && e.code === code;
const pair = () => memoryLinkPair().map(nfcTransport) as [ReturnType<typeof nfcTransport>, ReturnType<typeof nfcTransport>];

test('payer and payee states run once each and end with a verified receipt', async () => {
  const w = makeWorld('sm-happy');
  const payer = await paymentSe(w, { fundMinor: 9_000n });
  const payee = await paymentSe(w, {});
  const [a, b] = pair();
  const start = new PayerAwaitingRequest(payerPort(payer), a, { approve: (r) => r.amountMinor <= 1_000n });
  const ready = new PayeeReady(payeePort(payee), b);
  const [waiting, awaiting] = await Promise.all([start.receiveRequest(), ready.sendRequest(900n)]);
  const [done, got] = await Promise.all([waiting.receiveReceipt(), awaiting.receivePayment()]);
  assert.deepEqual(done.receipt, decodeReceipt(got.receipt));
  assert.equal(got.amountMinor, 900n);
  await assert.rejects(start.receiveRequest(), isExchange('STATE_USED'));
  await assert.rejects(ready.sendRequest(1n), isExchange('STATE_USED'));
  await assert.rejects(waiting.receiveReceipt(), isExchange('STATE_USED'));
  await assert.rejects(awaiting.receivePayment(), isExchange('STATE_USED'));
});

test('a declined or junk request moves no value', async () => {
  const w = makeWorld('sm-decline');
  const payer = await paymentSe(w, { fundMinor: 9_000n });
  const payee = await paymentSe(w, {});
  const [a, b] = pair();
  const start = new PayerAwaitingRequest(payerPort(payer), a, { approve: (r) => r.amountMinor <= 500n });
  await Promise.all([assert.rejects(start.receiveRequest(), isExchange('DECLINED')), new PayeeReady(payeePort(payee), b).sendRequest(501n)]);
  const [c, d] = pair();
  const junk = new PayerAwaitingRequest(payerPort(payer), c, { approve: () => true });
  await Promise.all([assert.rejects(junk.receiveRequest(), isExchange('BAD_MESSAGE')), d.send(Uint8Array.of(0xa0))]);
  assert.equal((await payer.client.getInfo()).balanceMinor, 9_000n);
});

test('the payer refuses a receipt for another payment or with a bad signature, and keeps its payment', async () => {
  const w = makeWorld('sm-receipt');
  const payer = await paymentSe(w, { fundMinor: 9_000n });
  const payee = await paymentSe(w, {});
  // An honest first payment gives a genuine receipt for *that* payment.
  const [a, b] = pair();
  const honest = new PayerAwaitingRequest(payerPort(payer), a, { approve: () => true });
  const [w1, p1] = await Promise.all([honest.receiveRequest(), new PayeeReady(payeePort(payee), b).sendRequest(100n)]);
  const [, got] = await Promise.all([w1.receiveReceipt(), p1.receivePayment()]);
  const genuine = decodeReceipt(got.receipt);
  // Replayed to the next payment, that receipt names another payment.
  {
    const receipt = got.receipt;
    const code = 'RECEIPT_MISMATCH';
    const [c, d] = pair();
    const start = new PayerAwaitingRequest(payerPort(payer), c, { approve: () => true });
    const hostile = (async () => {
      await d.send(await payee.client.buildPaymentRequest(100n));
      await d.receive();
      await d.send(receipt);
    })();
    const [waiting] = await Promise.all([start.receiveRequest(), hostile]);
    await assert.rejects(waiting.receiveReceipt(), isExchange(code));
    assert.equal(waiting.payment.length > 2_000, true, 'the payment is still held for a re-send');
  }
  // A receipt naming the right payment but signed wrongly: the payer's own payment, a forged signature.
  const [e, f] = pair();
  const start = new PayerAwaitingRequest(payerPort(payer), e, { approve: () => true });
  const forger = (async () => {
    await f.send(await payee.client.buildPaymentRequest(100n));
    const payment = await f.receive();
    await f.send(encodeReceipt({ ...genuine, paymentHash: paymentHash(payment) }));
  })();
  const [waiting] = await Promise.all([start.receiveRequest(), forger]);
  await assert.rejects(waiting.receiveReceipt(), isExchange('BAD_RECEIPT_SIGNATURE'));
  // A silent payee: the link error carries the state to resume from.
  const [g, h] = pair();
  const silent = new PayerAwaitingRequest(payerPort(payer), g, { approve: () => true, timeoutMs: 2_000 });
  const quiet = (async () => {
    await h.send(await payee.client.buildPaymentRequest(100n));
    await h.receive();
    h.close();
  })();
  const [w4] = await Promise.all([silent.receiveRequest(), quiet]);
  await assert.rejects(w4.receiveReceipt(), (x: unknown) => x instanceof PayerLinkLost && x.resume.payment === w4.payment);
});

test('a payee offers an open request again only if it is a PaymentRequest, and reports which request a payment paid', async () => {
  const w = makeWorld('sm-offer');
  const payer = await paymentSe(w, { fundMinor: 9_000n });
  const payee = await paymentSe(w, {});
  const [x] = pair();
  await assert.rejects(new PayeeReady(payeePort(payee), x).offerRequest(Uint8Array.of(0xa0)), isExchange('BAD_MESSAGE'));
  // A request built and left open, then offered on a new link: the payment for it is the current sale.
  const open = await payee.client.buildPaymentRequest(400n);
  const [a, b] = pair();
  const start = new PayerAwaitingRequest(payerPort(payer), a, { approve: () => true });
  const [waiting, awaiting] = await Promise.all([start.receiveRequest(), new PayeeReady(payeePort(payee), b).offerRequest(open)]);
  const [, got] = await Promise.all([waiting.receiveReceipt(), awaiting.receivePayment()]);
  assert.deepEqual([got.amountMinor, got.forCurrentRequest, got.resent], [400n, true, false]);
  assert.deepEqual(new Uint8Array(got.requestId), new Uint8Array(decodePaymentRequest(open).requestId));
});
