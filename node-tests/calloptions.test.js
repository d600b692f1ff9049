'use strict';
// Per-call options on every method: the last argument `{ signal, timeoutMs, maxRetries,
// deadlineMs }`. An abort rejects promptly with AbortError and sends nothing more, except a
// create order (or resend) already sent, which is the unknown outcome it is.

const { describe, test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');

const { nexotp, startSandbox, rejectsWith, sleep, apiRequests } = require('./helpers.js');

const { AbortError, OrderOutcomeUnknownError, ServerError, APITimeoutError, InvalidArgumentError } = nexotp;

describe('per-call options', () => {
  let sb;
  let client;
  before(async () => {
    sb = await startSandbox(['--code-delay-ms', '600000']);
  });
  after(() => sb.stop());
  beforeEach(async () => {
    await sb.reset();
    client = sb.client();
  });

  test('every method takes the options argument (maxRetries: 0 sends once)', async () => {
    const order = await client.createOrder({ service: 'svc_telegram', country: 'cty_us' });
    const calls = [
      ['GET /account', (o) => client.account(o)],
      ['GET /account/transactions', (o) => client.transactions({}, o)],
      ['GET /countries', (o) => client.countries(o)],
      ['GET /services', (o) => client.services('cty_us', o)],
      ['GET /price', (o) => client.price('svc_telegram', 'cty_us', o)],
      ['GET /order/*', (o) => client.getOrder(order.id, o)],
      ['POST /order/*/cancel', (o) => client.cancelOrder(order.id, o)],
      ['GET /webhooks', (o) => client.webhooks(o)],
      ['DELETE /webhooks/*', (o) => client.deleteWebhook('1', o)],
    ];
    for (const [match, run] of calls) {
      await sb.clearRequests();
      await sb.faults({ script: [{ match, fault: 'status', status: 503, times: 3 }] });
      await rejectsWith(run({ maxRetries: 0 }), ServerError);
      assert.equal((await sb.requests()).length, 1, `${match}: one request with maxRetries 0`);
    }
    await sb.faults({ script: [] });
  });

  test('timeoutMs per call, and the options are checked', async () => {
    await sb.faults({ script: [{ match: 'GET /account', fault: 'delay', ms: 1500 }] });
    await rejectsWith(client.account({ timeoutMs: 200, maxRetries: 0 }), APITimeoutError);
    await rejectsWith(client.account({ timeoutMs: 'soon' }), InvalidArgumentError);
    await rejectsWith(client.countries({ bogus: 1 }), InvalidArgumentError);
    await rejectsWith(client.countries({ signal: {} }), InvalidArgumentError);
  });

  test('an aborted signal sends nothing', async () => {
    await sb.clearRequests();
    const controller = new AbortController();
    controller.abort(new Error('no'));
    const e = await rejectsWith(client.account({ signal: controller.signal }), AbortError);
    assert.equal(e.cause.message, 'no');
    await rejectsWith(client.createOrder({ service: 'svc_telegram', country: 'cty_us' }, { signal: controller.signal }), AbortError);
    assert.equal((await sb.requests()).length, 0);
  });

  test('abort while paused behind a 429: AbortError at once, nothing more sent', async () => {
    await sb.clearRequests();
    await sb.faults({ script: [{ match: 'POST /order', fault: 'status', status: 429, retry_after: '20' }] });
    const controller = new AbortController();
    const pending = client.createOrder({ service: 'svc_telegram', country: 'cty_us' }, { signal: controller.signal });
    await sleep(300); // the 429 came back: the ORDER bucket is paused for 20 s
    controller.abort();
    await rejectsWith(pending, AbortError); // not an unknown outcome: the 429 said refused
    await sleep(200);
    assert.equal((await apiRequests(sb, 'POST', /\/order$/)).length, 1);
  });

  test('abort during backoff: AbortError, no second attempt', async () => {
    await sb.clearRequests();
    await sb.faults({ script: [{ match: 'GET /account', fault: 'status', status: 503, times: 5 }] });
    const controller = new AbortController();
    const pending = client.account({ signal: controller.signal, maxRetries: 5 });
    await sleep(150); // the 503 came back; the backoff (≥ 500 ms) runs
    controller.abort();
    await rejectsWith(pending, AbortError);
    await sleep(700);
    assert.equal((await apiRequests(sb, 'GET', /\/account$/)).length, 1);
  });

  test('abort after create order was sent: the unknown outcome, and reconcile finds the order', async () => {
    await sb.faults({ script: [{ match: 'POST /order', fault: 'slow_after_apply', ms: 3000 }] });
    const controller = new AbortController();
    const pending = client.createOrder({ service: 'svc_telegram', country: 'cty_us' }, { signal: controller.signal });
    await sleep(400);
    controller.abort();
    const e = await rejectsWith(pending, OrderOutcomeUnknownError);
    assert.equal(e.operation, 'createOrder');
    const found = await client.reconcile(e);
    assert.equal(found.outcome, 'applied');
  });

  test('an abort does not reach other calls of the client', async () => {
    const controller = new AbortController();
    await sb.faults({ script: [{ match: 'GET /countries', fault: 'delay', ms: 800 }] });
    const aborted = client.countries({ signal: controller.signal });
    const other = client.account();
    await sleep(100);
    controller.abort();
    await rejectsWith(aborted, AbortError);
    assert.ok((await other).balance);
  });
});
