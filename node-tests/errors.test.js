'use strict';
// Every error class of DESIGN §5, produced by a real condition against the sandbox, with the
// fields each carries and `instanceof` working up the tree.

const { describe, test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { startSandbox, nexotp, API_KEY, rejectsWith, throwsWith, apiRequests } = require('./helpers.js');

const E = nexotp;
let sb;
let client;
let noRetry;

before(async () => {
  sb = await startSandbox(['--code-delay-ms', '600000']);
  client = sb.client();
  noRetry = sb.client({ maxRetries: 0 });
});
after(() => sb.stop());
beforeEach(() => sb.reset());

function chain(err) {
  const names = [];
  for (let p = Object.getPrototypeOf(err); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    names.push(p.constructor.name);
  }
  return names;
}

describe('the hierarchy', () => {
  test('every class is a real Error subclass with its name', () => {
    const tree = {
      InvalidArgumentError: 'NexOTPError',
      APIError: 'NexOTPError',
      AuthenticationError: 'APIError',
      PermissionDeniedError: 'APIError',
      NotFoundError: 'APIError',
      InvalidRequestError: 'APIError',
      InsufficientBalanceError: 'APIError',
      ConflictError: 'APIError',
      RateLimitError: 'APIError',
      ServerError: 'APIError',
      APIConnectionError: 'NexOTPError',
      APITimeoutError: 'APIConnectionError',
      OrderOutcomeUnknownError: 'APIConnectionError',
      UnexpectedResponseError: 'NexOTPError',
      WaitTimeoutError: 'NexOTPError',
      OrderClosedError: 'NexOTPError',
      WebhookVerificationError: 'NexOTPError',
      AbortError: 'NexOTPError',
    };
    for (const [name, parent] of Object.entries(tree)) {
      const err = new E[name]('m');
      assert.ok(err instanceof E[parent], `${name} extends ${parent}`);
      assert.ok(err instanceof E.NexOTPError);
      assert.ok(err instanceof Error);
      assert.equal(err.name, name);
      assert.ok(err.stack.startsWith(`${name}: m`));
    }
    assert.ok(new E.NexOTPError('x') instanceof Error);
  });
});

describe('API errors', () => {
  test('AuthenticationError: a wrong key (401 rest_forbidden)', async () => {
    const bad = new E.Client({ apiKey: 'sk_wrong', baseUrl: sb.baseUrl });
    const err = await rejectsWith(bad.account(), E.AuthenticationError);
    assert.deepEqual(chain(err).slice(0, 4), ['AuthenticationError', 'APIError', 'NexOTPError', 'Error']);
    assert.equal(err.status, 401);
    assert.equal(err.code, 'rest_forbidden');
    assert.ok(!err.message.includes('sk_wrong'));
    assert.ok(!JSON.stringify(err).includes('sk_wrong'));
  });

  test('PermissionDeniedError: 403', async () => {
    await sb.faults({ fault: 'status', status: 403, code: 'forbidden' });
    const err = await rejectsWith(client.account(), E.PermissionDeniedError);
    assert.equal(err.status, 403);
    assert.equal(err.code, 'forbidden');
  });

  test('NotFoundError: an unknown order, with the request id', async () => {
    const err = await rejectsWith(client.getOrder('999999'), E.NotFoundError);
    assert.equal(err.status, 404);
    assert.equal(typeof err.code, 'string');
    assert.match(err.requestId, /^req_/);
    assert.match(err.message, /HTTP 404/);
    assert.equal(typeof err.body, 'object');
  });

  test('InvalidRequestError: an unknown service (400), and a WordPress param error', async () => {
    const err = await rejectsWith(client.createOrder({ service: 'svc_nope', country: 'cty_us' }), E.InvalidRequestError);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'invalid_parameter');
    assert.equal((await sb.state()).orders.length, 0);
  });

  test('InsufficientBalanceError: 402', async () => {
    await sb.control('POST', 'balance', { balance: '0.00' });
    const err = await rejectsWith(client.createOrder({ service: 'svc_telegram', country: 'cty_us' }), E.InsufficientBalanceError);
    assert.equal(err.status, 402);
    assert.equal(err.code, 'insufficient_balance');
  });

  test('ConflictError: no stock, and cancelling an order that has its code', async () => {
    const noStock = await rejectsWith(client.createOrder({ service: 'svc_whatsapp', country: 'cty_de' }), E.ConflictError);
    assert.equal(noStock.status, 409);
    assert.equal(noStock.code, 'no_numbers_available');
    const order = await client.createOrder({ service: 'svc_telegram', country: 'cty_us' });
    await sb.control('POST', `orders/${order.id}/code`, {});
    const err = await rejectsWith(client.cancelOrder(order.id), E.ConflictError);
    assert.equal(err.code, 'order_not_cancellable');
  });

  test('RateLimitError: 429 with retryAfterMs and the bucket', async () => {
    await sb.faults({ fault: 'status', status: 429, retry_after: '30' });
    // A client of its own: the 429 pauses this client's GENERAL bucket for 30 s.
    const err = await rejectsWith(sb.client({ maxRetries: 0 }).account(), E.RateLimitError);
    assert.equal(err.status, 429);
    assert.equal(err.retryAfterMs, 30000);
    assert.equal(err.bucket, 'GENERAL');
    assert.ok(err instanceof E.APIError);
  });

  test('APIError itself: a status no subclass covers (418)', async () => {
    await sb.faults({ fault: 'status', status: 418, code: 'teapot' });
    const err = await rejectsWith(client.account(), E.APIError);
    assert.equal(err.constructor, E.APIError);
    assert.equal(err.status, 418);
    assert.equal(err.code, 'teapot');
  });

  test('ServerError: a 503 envelope and an HTML 500 page', async () => {
    await sb.faults({ fault: 'status', status: 503 });
    const err = await rejectsWith(noRetry.account(), E.ServerError);
    assert.equal(err.status, 503);
    await sb.faults({ fault: 'html500' });
    const html = await rejectsWith(noRetry.countries(), E.ServerError);
    assert.equal(html.status, 500);
  });
});

describe('connection errors', () => {
  test('APIConnectionError: nothing listens on the port', async () => {
    const port = await new Promise((resolve) => {
      const srv = net.createServer();
      srv.listen(0, '127.0.0.1', () => {
        const p = srv.address().port;
        srv.close(() => resolve(p));
      });
    });
    const c = new E.Client({ apiKey: API_KEY, baseUrl: `http://127.0.0.1:${port}/wp-json/nexotp/v1/`, maxRetries: 0 });
    const err = await rejectsWith(c.account(), E.APIConnectionError);
    assert.ok(!(err instanceof E.APIError));
  });

  test('APITimeoutError: an answer slower than timeoutMs', async () => {
    await sb.faults({ fault: 'delay', ms: 3000 });
    const c = sb.client({ timeoutMs: 200, maxRetries: 0 });
    const err = await rejectsWith(c.account(), E.APITimeoutError);
    assert.ok(err instanceof E.APIConnectionError);
  });

  test('OrderOutcomeUnknownError: the answer to POST /order was lost; it carries what reconciles it', async () => {
    await sb.faults({ match: 'POST /order', fault: 'drop' });
    const err = await rejectsWith(client.createOrder({ service: 'svc_telegram', country: 'cty_us' }), E.OrderOutcomeUnknownError);
    assert.ok(err instanceof E.APIConnectionError);
    assert.equal(err.operation, 'createOrder');
    assert.equal(err.service, 'svc_telegram');
    assert.equal(err.country, 'cty_us');
    assert.equal(typeof err.sentAtMs, 'number');
    assert.ok(Math.abs(err.sentAtMs - Date.now()) < 60000);
    assert.ok(err.failedAtMs >= err.sentAtMs);
    assert.match(err.message, /not re-sent/);
  });

  test('UnexpectedResponseError: a truncated JSON body, with status and snippet', async () => {
    await sb.faults({ fault: 'malformed' });
    const err = await rejectsWith(noRetry.account(), E.UnexpectedResponseError);
    assert.equal(err.status, 200);
    assert.equal(typeof err.snippet, 'string');
    assert.ok(err.snippet.length > 0);
  });
});

describe('wait and webhook errors', () => {
  test('WaitTimeoutError and OrderClosedError carry the order', async () => {
    const order = await client.createOrder({ service: 'svc_telegram', country: 'cty_us' });
    const timeout = await rejectsWith(client.waitForCode(order.id, { timeoutMs: 150, pollIntervalMs: 50 }), E.WaitTimeoutError);
    assert.equal(timeout.orderId, order.id);
    assert.equal(timeout.order.id, order.id);
    assert.equal(timeout.order.status, 'pending');
    assert.equal(timeout.cancelled, false);
    assert.ok(timeout.waitedMs >= 150);
    await sb.control('POST', `orders/${order.id}/expire`, {});
    const closed = await rejectsWith(client.waitForCode(order.id, { pollIntervalMs: 50 }), E.OrderClosedError);
    assert.equal(closed.order.status, 'expired');
    assert.equal(typeof closed.order.raw, 'object');
  });

  test('WebhookVerificationError', () => {
    const err = throwsWith(() => E.verifyWebhook('{}', 't=1,v1=00', 'whsec_x'), E.WebhookVerificationError);
    assert.match(err.message, /old|tolerance/);
  });
});

describe('argument and internal errors', () => {
  test('InvalidArgumentError: a missing key fails at construction, naming apiKey', () => {
    const saved = process.env.NEXOTP_API_KEY;
    delete process.env.NEXOTP_API_KEY;
    try {
      const err = throwsWith(() => new E.Client({ baseUrl: sb.baseUrl }), E.InvalidArgumentError);
      assert.equal(err.argument, 'apiKey');
      assert.match(err.message, /NEXOTP_API_KEY/);
    } finally {
      if (saved !== undefined) process.env.NEXOTP_API_KEY = saved;
    }
    const http = throwsWith(() => new E.Client({ apiKey: API_KEY, baseUrl: 'http://example.com/' }), E.InvalidArgumentError);
    assert.equal(http.argument, 'baseUrl');
  });

  test('a Rust panic becomes a NexOTPError and the process lives on', async () => {
    const err = await rejectsWith(E._debugPanic('boom in a future'), E.NexOTPError);
    assert.equal(err.constructor, E.NexOTPError);
    assert.match(err.message, /panic.*boom in a future/);
    const sync = throwsWith(() => E._debugPanicSync('boom in a call'), E.NexOTPError);
    assert.match(sync.message, /boom in a call/);
    assert.equal((await client.account()).balance, '25.00');
  });

  test('an error never needs a request: nothing reached the sandbox for bad arguments', async () => {
    await rejectsWith(client.getOrder(''), E.InvalidArgumentError);
    assert.equal((await apiRequests(sb)).length, 0);
  });
});
