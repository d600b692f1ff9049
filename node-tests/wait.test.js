'use strict';
// waitForCode: a code, a closed order, a timeout (with cancelOnTimeout refunding) and an
// AbortSignal that stops polling at once. Codes are delivered on demand through the sandbox's
// control endpoint (the automatic delay is 10 minutes), so no test races a timer.

const { describe, test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { getEventListeners } = require('node:events');
const { startSandbox, nexotp, rejectsWith, apiRequests, sleep } = require('./helpers.js');

const E = nexotp;
let sb;
let client;

before(async () => {
  sb = await startSandbox(['--code-delay-ms', '600000']);
  client = sb.client();
});
after(() => sb.stop());
beforeEach(() => sb.reset());

const newOrder = () => client.createOrder({ service: 'svc_telegram', country: 'cty_us' });
const polls = async (id) => (await apiRequests(sb, 'GET', new RegExp(`/order/${id}$`))).length;

describe('waitForCode', () => {
  test('returns the order as soon as a code arrives', async () => {
    const order = await newOrder();
    setTimeout(() => sb.control('POST', `orders/${order.id}/code`, { code: '424242' }), 150);
    const done = await client.waitForCode(order.id, { pollIntervalMs: 50, timeoutMs: 30000 });
    assert.equal(done.code, '424242');
    assert.equal(done.status, 'received');
    assert.deepEqual(done.codes, ['424242']);
    assert.ok((await polls(order.id)) >= 2, 'it polled');
  });

  test('the sandbox delivers codes by itself after --code-delay-ms', async () => {
    const quick = await startSandbox(['--code-delay-ms', '200']);
    try {
      const c = quick.client();
      const order = await c.createOrder({ service: 'svc_telegram', country: 'cty_us' });
      const done = await c.waitForCode(order.id, { pollIntervalMs: 50, timeoutMs: 30000 });
      assert.match(done.code, /^\d{6}$/);
    } finally {
      await quick.stop();
    }
  });

  test('an order that ends without a code rejects with OrderClosedError', async () => {
    const order = await newOrder();
    setTimeout(() => sb.control('POST', `orders/${order.id}/expire`, {}), 100);
    const err = await rejectsWith(client.waitForCode(order.id, { pollIntervalMs: 50 }), E.OrderClosedError);
    assert.equal(err.order.id, order.id);
    assert.equal(err.order.status, 'expired');
  });

  test('a timeout with cancelOnTimeout cancels the order and refunds it', async () => {
    const order = await newOrder();
    assert.notEqual((await client.account()).balance, '25.00');
    const err = await rejectsWith(
      client.waitForCode(order.id, { timeoutMs: 300, pollIntervalMs: 100, cancelOnTimeout: true }),
      E.WaitTimeoutError,
    );
    assert.equal(err.cancelled, true);
    assert.equal(err.order.status, 'cancelled');
    assert.equal((await client.account()).balance, '25.00');
    assert.equal((await apiRequests(sb, 'POST', /\/cancel$/)).length, 1);
  });

  test('a timeout without cancelOnTimeout leaves the order pending', async () => {
    const order = await newOrder();
    const err = await rejectsWith(client.waitForCode(order.id, { timeoutMs: 200, pollIntervalMs: 50 }), E.WaitTimeoutError);
    assert.equal(err.cancelled, false);
    assert.equal((await client.getOrder(order.id)).status, 'pending');
    assert.equal((await apiRequests(sb, 'POST', /\/cancel$/)).length, 0);
  });

  test('AbortSignal: rejects with AbortError at once and polling stops', async () => {
    const order = await newOrder();
    const controller = new AbortController();
    const waiting = client.waitForCode(order.id, { pollIntervalMs: 60000, timeoutMs: 600000, signal: controller.signal });
    while ((await polls(order.id)) === 0) await sleep(10);
    const t0 = Date.now();
    controller.abort(new Error('user gave up'));
    const err = await rejectsWith(waiting, E.AbortError);
    assert.ok(Date.now() - t0 < 5000, 'promptly, not after the 60 s poll interval');
    assert.equal(err.name, 'AbortError');
    assert.equal(err.code, 'ABORT_ERR');
    assert.equal(err.cause.message, 'user gave up');
    assert.equal((await client.getOrder(order.id)).status, 'pending', 'abort does not cancel the order');
  });

  test('after an abort no further poll is sent', async () => {
    const order = await newOrder();
    const controller = new AbortController();
    const waiting = client.waitForCode(order.id, { pollIntervalMs: 50, timeoutMs: 600000, signal: controller.signal });
    while ((await polls(order.id)) < 2) await sleep(10);
    controller.abort();
    await rejectsWith(waiting, E.AbortError);
    const count = await polls(order.id);
    await sleep(400);
    assert.ok((await polls(order.id)) <= count + 1, 'at most the poll already in flight');
    const settled = await polls(order.id);
    await sleep(400);
    assert.equal(await polls(order.id), settled, 'polling stopped');
  });

  test('AbortSignal.timeout() works, and an already aborted signal sends nothing', async () => {
    const order = await newOrder();
    await sb.clearRequests();
    const pre = new AbortController();
    pre.abort();
    await rejectsWith(client.waitForCode(order.id, { signal: pre.signal }), E.AbortError);
    assert.equal(await polls(order.id), 0);
    await rejectsWith(client.waitForCode(order.id, { pollIntervalMs: 50, signal: AbortSignal.timeout(150) }), E.AbortError);
  });

  test('a signal that never fires does not change a normal result', async () => {
    const order = await newOrder();
    const controller = new AbortController();
    setTimeout(() => sb.control('POST', `orders/${order.id}/code`, { code: '777777' }), 100);
    const done = await client.waitForCode(order.id, { pollIntervalMs: 50, signal: controller.signal });
    assert.equal(done.code, '777777');
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0, 'the binding removed its listener');
    controller.abort(); // after settling: nothing happens
  });

  test('after a resend, only a new code counts', async () => {
    const order = await newOrder();
    await sb.control('POST', `orders/${order.id}/code`, { code: '111111' });
    assert.equal((await client.waitForCode(order.id, { pollIntervalMs: 50 })).code, '111111');
    await client.resendOrder(order.id);
    setTimeout(() => sb.control('POST', `orders/${order.id}/code`, { code: '222222' }), 200);
    const again = await client.waitForCode(order.id, { pollIntervalMs: 50, timeoutMs: 30000 });
    assert.equal(again.code, '222222');
  });
});
