'use strict';
// Retries, the shared per-bucket pause after a 429, and never a duplicate order.

const { describe, test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { startSandbox, nexotp, rejectsWith, apiRequests } = require('./helpers.js');

const E = nexotp;
let sb;

before(async () => {
  sb = await startSandbox(['--code-delay-ms', '600000']);
});
after(() => sb.stop());
beforeEach(() => sb.reset());

const at = (r) => Date.parse(r.at);

describe('retries', () => {
  test('a GET is retried on 503 and succeeds; the request log shows every attempt', async () => {
    await sb.faults({ script: [{ match: 'GET /account', fault: 'status', status: 503, times: 2 }] });
    const account = await sb.client({ maxRetries: 2 }).account();
    assert.equal(account.balance, '25.00');
    const log = await apiRequests(sb, 'GET', /\/account$/);
    assert.deepEqual(log.map((r) => r.status), [503, 503, 200]);
  });

  test('maxRetries bounds the attempts', async () => {
    await sb.faults({ script: [{ match: 'GET /account', fault: 'status', status: 503, times: 5 }] });
    await rejectsWith(sb.client({ maxRetries: 1 }).account(), E.ServerError);
    assert.equal((await apiRequests(sb, 'GET', /\/account$/)).length, 2);
  });

  test('a dropped connection on a GET is retried', async () => {
    await sb.faults({ match: 'GET /order/*', fault: 'drop' });
    const c = sb.client();
    const order = await c.createOrder({ service: 'svc_telegram', country: 'cty_us' });
    const again = await c.getOrder(order.id);
    assert.equal(again.id, order.id);
    assert.equal((await apiRequests(sb, 'GET', /\/order\//)).length, 2);
  });

  test('a 429 on create order is re-sent after Retry-After, creating exactly one order', async () => {
    await sb.faults({ match: 'POST /order', fault: 'status', status: 429, retry_after: '1' });
    const c = sb.client();
    const order = await c.createOrder({ service: 'svc_telegram', country: 'cty_us' });
    const posts = await apiRequests(sb, 'POST', /\/order$/);
    assert.deepEqual(posts.map((r) => r.status), [429, 201]);
    assert.ok(at(posts[1]) - at(posts[0]) >= 900, 'waited for Retry-After');
    assert.deepEqual((await sb.state()).orders.map((o) => String(o.id)), [order.id]);
  });
});

describe('no duplicate order', () => {
  for (const fault of ['drop', 'drop_before_apply']) {
    test(`a ${fault} on POST /order is not re-sent: OrderOutcomeUnknownError, at most one order`, async () => {
      await sb.faults({ match: 'POST /order', fault });
      const c = sb.client({ maxRetries: 5 });
      const err = await rejectsWith(c.createOrder({ service: 'svc_telegram', country: 'cty_us' }), E.OrderOutcomeUnknownError);
      assert.equal(err.operation, 'createOrder');
      assert.equal((await apiRequests(sb, 'POST', /\/order$/)).length, 1, 'sent once');
      const orders = (await sb.state()).orders;
      assert.equal(orders.length, fault === 'drop' ? 1 : 0);
    });
  }

  test('a dropped answer to resend is OrderOutcomeUnknownError with the order id', async () => {
    const c = sb.client();
    const order = await c.createOrder({ service: 'svc_telegram', country: 'cty_us' });
    await sb.control('POST', `orders/${order.id}/code`, {});
    await sb.faults({ match: 'POST /order/*/resend', fault: 'drop' });
    const err = await rejectsWith(c.resendOrder(order.id), E.OrderOutcomeUnknownError);
    assert.equal(err.operation, 'resendOrder');
    assert.equal(err.orderId, order.id);
    assert.equal((await apiRequests(sb, 'POST', /\/resend$/)).length, 1);
  });
});

describe('rate buckets', () => {
  test('a 429 pauses the whole bucket for every concurrent call on the client, not other buckets', async () => {
    const c = sb.client();
    const order = await c.createOrder({ service: 'svc_telegram', country: 'cty_us' });
    await sb.clearRequests();
    await sb.faults({ match: 'GET /order/*', fault: 'status', status: 429, retry_after: '1' });
    const first = c.getOrder(order.id);
    // Let the first call get its 429, then start others in the same (POLL) and another bucket.
    for (let i = 0; i < 200; i++) {
      if ((await apiRequests(sb, 'GET', /\/order\//)).length > 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    // The sandbox logs the request before the client has read its 429: give the client a
    // moment to pause the bucket, so the calls below really start during the pause.
    await new Promise((r) => setTimeout(r, 150));
    const others = [c.getOrder(order.id), c.getOrder(order.id)];
    await c.account(); // GENERAL is not paused
    await Promise.all([first, ...others]);
    const polls = await apiRequests(sb, 'GET', /\/order\//);
    const [limited, ...rest] = polls;
    assert.equal(limited.status, 429);
    assert.equal(rest.length, 3, 'the limited call once more, plus the two others, each sent once');
    for (const r of rest) {
      assert.equal(r.status, 200);
      assert.ok(at(r) - at(limited) >= 900, `POLL call sent ${at(r) - at(limited)} ms after the 429`);
    }
    const [account] = await apiRequests(sb, 'GET', /\/account$/);
    assert.ok(at(account) - at(limited) < 900, 'GENERAL went on during the POLL pause');
  });

  test('clients made by withOptions share the pause', async () => {
    const c = sb.client();
    const sibling = c.withOptions({ maxRetries: 0 });
    await sb.faults({ match: 'GET /account', fault: 'status', status: 429, retry_after: '1' });
    await rejectsWith(sibling.account(), E.RateLimitError);
    const t0 = Date.now();
    await c.countries(); // same GENERAL bucket: waits out the pause
    assert.ok(Date.now() - t0 >= 700, `waited ${Date.now() - t0} ms`);
    const [, countries] = await apiRequests(sb, 'GET', /\/(account|countries)$/);
    assert.equal(countries.status, 200);
  });
});
