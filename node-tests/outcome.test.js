'use strict';
// Deadlines, `retryable`, OrderOutcomeUnknownError and `reconcile`, against the sandbox's faults
// (a call applied then cut off, or cut off before it applied).

const { describe, test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const util = require('node:util');
const { startSandbox, nexotp, rejectsWith, throwsWith, apiRequests } = require('./helpers.js');

const E = nexotp;
let sb;

before(async () => {
  sb = await startSandbox(['--code-delay-ms', '200']);
});
after(() => sb.stop());
beforeEach(() => sb.reset());

const orderPosts = () => apiRequests(sb, 'POST', /\/order$/);

describe('deadline', () => {
  test('a run of 503s longer than deadlineMs ends within it, with fewer attempts', async () => {
    const script = { script: [{ match: 'GET /account', fault: 'status', status: 503, times: 4 }] };
    await sb.faults(script);
    await rejectsWith(sb.client({ maxRetries: 3 }).account(), E.ServerError);
    const without = (await apiRequests(sb, 'GET', /\/account$/)).length;
    assert.equal(without, 4);

    await sb.reset();
    await sb.faults(script);
    const c = sb.client({ maxRetries: 3, deadlineMs: 600 });
    assert.equal(c.deadlineMs, 600);
    const t0 = Date.now();
    const err = await c.account().then(
      () => assert.fail('expected an error'),
      (e) => e,
    );
    const elapsed = Date.now() - t0;
    assert.ok(err instanceof E.APITimeoutError || err instanceof E.ServerError, `${err.name}: ${err.message}`);
    assert.ok(elapsed < 600 + 500, `took ${elapsed} ms`);
    assert.equal(err.retryable, true);
    assert.ok((await apiRequests(sb, 'GET', /\/account$/)).length < without);
  });

  test('withOptions({ deadlineMs }) bounds a slow answer: APITimeoutError', async () => {
    await sb.faults({ match: 'GET /account', fault: 'delay', ms: 2000 });
    const c = sb.client({ timeoutMs: 10_000 });
    assert.equal(c.deadlineMs, undefined);
    const quick = c.withOptions({ deadlineMs: 400 });
    assert.equal(quick.deadlineMs, 400);
    assert.equal(quick.timeoutMs, 10_000);
    const t0 = Date.now();
    const err = await rejectsWith(quick.account(), E.APITimeoutError);
    assert.ok(Date.now() - t0 < 400 + 500);
    assert.match(err.message, /deadline/);
  });

  test('a bad deadlineMs fails before any request, naming deadlineMs', async () => {
    for (const bad of [0, -1, Number.NaN, Infinity]) {
      const err = throwsWith(() => sb.client({ deadlineMs: bad }), E.InvalidArgumentError);
      assert.equal(err.argument, 'deadlineMs');
      const opt = throwsWith(() => sb.client().withOptions({ deadlineMs: bad }), E.InvalidArgumentError);
      assert.equal(opt.argument, 'deadlineMs');
    }
    const typed = throwsWith(() => sb.client({ deadlineMs: '1000' }), E.InvalidArgumentError);
    assert.equal(typed.argument, 'deadlineMs');
    assert.equal((await apiRequests(sb)).length, 0);
  });
});

describe('retryable', () => {
  test('every error says whether trying again is safe', async () => {
    const c = sb.client({ maxRetries: 0 });
    await sb.faults({ match: 'GET /account', fault: 'status', status: 503 });
    const server = await rejectsWith(c.account(), E.ServerError);
    assert.equal(server.retryable, true);

    await sb.faults({ match: 'POST /order', fault: 'status', status: 500, envelope: false, after_apply: true });
    const unknown = await rejectsWith(c.createOrder({ service: 'svc_telegram', country: 'cty_us' }), E.OrderOutcomeUnknownError);
    assert.equal(unknown.retryable, false);
    assert.equal(unknown.status, 500);

    await sb.control('POST', 'balance', { balance: '0.00' });
    const poor = await rejectsWith(c.createOrder({ service: 'svc_telegram', country: 'cty_us' }), E.InsufficientBalanceError);
    assert.equal(poor.status, 402);
    assert.equal(poor.retryable, false);

    const bad = await rejectsWith(c.transactions({ perPage: 0 }), E.InvalidArgumentError);
    assert.equal(bad.retryable, false);
    assert.equal(new E.NexOTPError('x').retryable, false);
  });
});

describe('OrderOutcomeUnknownError and reconcile', () => {
  test('a create order dropped after it applied reconciles to the order the sandbox made', async () => {
    await sb.faults({ match: 'POST /order', fault: 'drop' });
    const c = sb.client();
    const t0 = Date.now();
    const err = await rejectsWith(
      c.createOrder({ service: 'svc_telegram', country: 'cty_us', pool: 'pool_a', maxPrice: '5.00' }),
      E.OrderOutcomeUnknownError,
    );
    assert.equal(err.operation, 'createOrder');
    assert.equal(err.service, 'svc_telegram');
    assert.equal(err.country, 'cty_us');
    assert.equal(err.pool, 'pool_a');
    assert.equal(err.maxPrice, '5.00');
    assert.equal(err.orderId, undefined);
    assert.deepEqual(err.codesBefore, []);
    assert.deepEqual(err.events, []);
    assert.equal(err.statusBefore, undefined);
    assert.equal(err.endpointUrl, undefined);
    assert.ok(err.sentAtMs >= t0 - 1000 && err.sentAtMs <= err.failedAtMs && err.failedAtMs <= Date.now() + 1000);
    assert.equal(err.retryable, false);

    const found = await c.reconcile(err);
    const [made] = (await sb.state()).orders;
    assert.equal(found.outcome, 'applied');
    assert.equal(found.order.id, String(made.id));
    assert.deepEqual(found.orders.map((o) => o.id), [found.order.id]);
    assert.deepEqual(found.webhooks, []);
    assert.equal(found.webhook, undefined);
    assert.equal((await orderPosts()).length, 1, 'reconcile only reads');
  });

  test('the error is plain data: a copy of its properties, rebuilt, still reconciles', async () => {
    await sb.faults({ match: 'POST /order', fault: 'drop' });
    const c = sb.client();
    const err = await rejectsWith(c.createOrder({ service: 'svc_telegram', country: 'cty_us' }), E.OrderOutcomeUnknownError);
    const data = JSON.parse(JSON.stringify({ ...err }));
    assert.equal(data.operation, 'createOrder');
    assert.equal(data.sentAtMs, err.sentAtMs);
    const rebuilt = new E.OrderOutcomeUnknownError(err.message, data);
    const found = await c.reconcile(rebuilt);
    assert.equal(found.outcome, 'applied');
    assert.equal(found.order.id, String((await sb.state()).orders[0].id));
  });

  test('drop_before_apply reconciles to notApplied; sending again makes exactly one order', async () => {
    await sb.faults({ match: 'POST /order', fault: 'drop_before_apply' });
    const c = sb.client();
    const err = await rejectsWith(c.createOrder({ service: 'svc_telegram', country: 'cty_us' }), E.OrderOutcomeUnknownError);
    const found = await c.reconcile(err);
    assert.deepEqual(found, { outcome: 'notApplied', orders: [], webhooks: [] });
    const order = await c.createOrder({ service: 'svc_telegram', country: 'cty_us' });
    assert.deepEqual((await sb.state()).orders.map((o) => String(o.id)), [order.id]);
  });

  test('a create webhook cut off after 40 bytes: no secret in the error, reconcile finds the webhook', async () => {
    await sb.faults({ fault: 'truncate', bytes: 40, match: 'POST /webhooks' });
    const c = sb.client();
    const err = await rejectsWith(
      c.createWebhook({ endpointUrl: 'http://127.0.0.1:9/hook', events: ['order.created', 'order.expired'] }),
      E.OrderOutcomeUnknownError,
    );
    assert.equal(err.operation, 'createWebhook');
    assert.equal(err.endpointUrl, 'http://127.0.0.1:9/hook');
    assert.deepEqual([...err.events].sort(), ['order.created', 'order.expired']);
    assert.equal(err.retryable, false);
    const [hook] = (await sb.state()).webhooks;
    const shown = [err.message, String(err), err.stack, util.inspect(err, { showHidden: true, depth: 5 }), JSON.stringify({ ...err })].join(' ');
    assert.ok(!shown.includes('whsec_'), shown);
    const tail = hook.secret.replace(/^whsec_/, '');
    for (let i = 0; i + 6 <= tail.length; i++) {
      assert.ok(!shown.includes(tail.slice(i, i + 6)), 'a piece of the secret leaked');
    }

    const found = await c.reconcile(err);
    assert.equal(found.outcome, 'applied');
    assert.equal(found.webhook.id, String(hook.id));
    assert.equal(found.webhook.secret, undefined, 'the secret was in the lost answer');
    assert.ok(!JSON.stringify(found).includes('whsec_'));
  });

  test('a resend dropped after it applied reconciles to applied', async () => {
    const c = sb.client();
    const order = await c.createOrder({ service: 'svc_telegram', country: 'cty_us' });
    const done = await c.waitForCode(order.id, { timeoutMs: 10_000, pollIntervalMs: 50 });
    await sb.faults({ match: 'POST /order/*/resend', fault: 'drop' });
    const err = await rejectsWith(c.resendOrder(order.id), E.OrderOutcomeUnknownError);
    assert.equal(err.operation, 'resendOrder');
    assert.equal(err.orderId, order.id);
    assert.deepEqual(err.codesBefore, done.codes.length ? done.codes : [done.code]);
    assert.equal(err.statusBefore, 'received');
    const found = await c.reconcile(err);
    assert.equal(found.outcome, 'applied');
    assert.equal(found.order.id, order.id);
    assert.equal((await apiRequests(sb, 'POST', /\/resend$/)).length, 1);
  });

  test('anything but an OrderOutcomeUnknownError is InvalidArgumentError before any request', async () => {
    const c = sb.client();
    for (const bad of [new Error('x'), new E.ServerError('x'), 'createOrder', undefined, { operation: 'createOrder', sentAtMs: 1, failedAtMs: 1 }]) {
      const err = await rejectsWith(c.reconcile(bad), E.InvalidArgumentError);
      assert.equal(err.argument, 'err');
      assert.match(err.message, /OrderOutcomeUnknownError/);
    }
    const unknownOp = new E.OrderOutcomeUnknownError('x', { operation: 'deleteEverything', sentAtMs: 1, failedAtMs: 1 });
    assert.equal((await rejectsWith(c.reconcile(unknownOp), E.InvalidArgumentError)).argument, 'operation');
    const noTime = new E.OrderOutcomeUnknownError('x', { operation: 'createOrder' });
    assert.equal((await rejectsWith(c.reconcile(noTime), E.InvalidArgumentError)).argument, 'err.sentAtMs');
    assert.equal((await apiRequests(sb)).length, 0);
  });
});

describe('WaitTimeoutError', () => {
  test('without a successful poll: order is undefined, orderId is set', async () => {
    const c = sb.client({ maxRetries: 0 });
    const order = await c.createOrder({ service: 'svc_telegram', country: 'cty_us' });
    await sb.faults({ random: [{ rate: 1.0, match: 'GET /order/*', fault: 'status', status: 503 }] });
    const err = await rejectsWith(c.waitForCode(order.id, { timeoutMs: 400, pollIntervalMs: 100 }), E.WaitTimeoutError);
    assert.equal(err.order, undefined);
    assert.equal(err.orderId, order.id);
    assert.equal(err.cancelled, false);
  });
});
