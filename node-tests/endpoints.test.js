'use strict';
// Every endpoint through the package against a live sandbox: results are plain objects with
// camelCase keys, money as decimal strings, `raw` with the decoded JSON, and the wire forms of
// DESIGN §8 reach the server.

const { describe, test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const util = require('node:util');
const { startSandbox, nexotp, API_KEY, apiRequests } = require('./helpers.js');

const { Client } = nexotp;
let sb;
let client;

before(async () => {
  sb = await startSandbox(['--code-delay-ms', '600000']);
  client = sb.client();
});
after(() => sb.stop());
beforeEach(() => sb.reset());

const DECIMAL = /^-?\d+(\.\d+)?$/;

describe('account and catalogue', () => {
  test('account(): balance as a decimal string, camelCase keys, raw JSON', async () => {
    const account = await client.account();
    assert.equal(account.balance, '25.00');
    assert.equal(account.currency, 'USD');
    assert.equal(account.userId, '1');
    assert.equal(typeof account.usage, 'object');
    assert.equal(account.raw.balance, '25.00');
    assert.equal(account.raw.user_id, 1);
    assert.equal(Object.getPrototypeOf(account), Object.prototype);
  });

  test('countries(), services(), price()', async () => {
    const countries = await client.countries();
    assert.deepEqual(
      countries.map((c) => c.code).sort(),
      ['cty_br', 'cty_de', 'cty_gb', 'cty_in', 'cty_us'],
    );
    assert.ok(countries.every((c) => typeof c.raw === 'object'));
    const services = await client.services('cty_us');
    const telegram = services.find((s) => s.id === 'svc_telegram');
    assert.ok(telegram, 'svc_telegram is offered in cty_us');
    assert.match(telegram.price, DECIMAL);
    const price = await client.price('svc_telegram', 'cty_us');
    assert.match(price.price, DECIMAL);
    assert.ok(price.pools.length >= 2);
    assert.equal(price.pools[0].id, 'pool_a');
    for (const pool of price.pools) assert.match(pool.price, DECIMAL);
    const [req] = await apiRequests(sb, 'GET', /\/price$/);
    assert.equal(req.query, 'service=svc_telegram&country=cty_us');
  });
});

describe('orders', () => {
  test('createOrder() debits the wallet and getOrder() reads it back', async () => {
    const order = await client.createOrder({ service: 'svc_telegram', country: 'cty_us' });
    assert.equal(typeof order.id, 'string');
    assert.equal(order.status, 'pending');
    assert.match(order.price, DECIMAL);
    assert.match(order.phone, /^\+\d+$/);
    assert.deepEqual(order.codes, []);
    assert.equal(order.raw.id, Number(order.id));
    assert.ok('expiresAt' in order && !('expires_at' in order));
    const again = await client.getOrder(order.id);
    assert.equal(again.id, order.id);
    // ids the API gives as numbers are accepted as numbers too
    const byNumber = await client.getOrder(Number(order.id));
    assert.equal(byNumber.id, order.id);
    const account = await client.account();
    assert.equal(
      Number(account.balance) * 100,
      2500 - Math.round(Number(order.price) * 100),
    );
  });

  test('createOrder() sends pricing_option as 0/1 and max_price as an exact JSON number', async () => {
    await client.createOrder({ service: 'svc_telegram', country: 'cty_us', pricingOption: 'best_rate', maxPrice: '9.10' });
    await client.createOrder({ service: 'svc_telegram', country: 'cty_us', pricingOption: 0, maxPrice: 9.1 });
    await client.createOrder({ service: 'svc_google', country: 'cty_gb', pool: 'pool_a' });
    const posts = await apiRequests(sb, 'POST', /\/order$/);
    assert.equal(posts.length, 3);
    assert.equal(posts[0].body, '{"service":"svc_telegram","country":"cty_us","pricing_option":1,"max_price":9.10}');
    assert.equal(posts[1].body, '{"service":"svc_telegram","country":"cty_us","pricing_option":0,"max_price":9.1}');
    assert.equal(posts[2].body, '{"service":"svc_google","country":"cty_gb","pool":"pool_a"}');
    assert.equal(posts[0].headers['content-type'], 'application/json');
  });

  test('cancelOrder() refunds; resendOrder() asks for a new code', async () => {
    const order = await client.createOrder({ service: 'svc_telegram', country: 'cty_us' });
    const cancelled = await client.cancelOrder(order.id);
    assert.equal(cancelled.status, 'cancelled');
    assert.equal((await client.account()).balance, '25.00');
    const [cancelReq] = await apiRequests(sb, 'POST', /\/cancel$/);
    assert.equal(cancelReq.body, '{}');

    const second = await client.createOrder({ service: 'svc_telegram', country: 'cty_us' });
    await sb.control('POST', `orders/${second.id}/code`, { code: '111111' });
    const resent = await client.resendOrder(second.id);
    assert.equal(resent.status, 'pending');
    setTimeout(() => sb.control('POST', `orders/${second.id}/code`, { code: '222222' }), 100);
    const done = await client.waitForCode(second.id, { pollIntervalMs: 50, timeoutMs: 20000 });
    assert.equal(done.code, '222222');
  });
});

describe('transactions', () => {
  async function makeOrders(n) {
    for (let i = 0; i < n; i++) {
      const o = await client.createOrder({ service: 'svc_telegram', country: 'cty_us' });
      await client.cancelOrder(o.id);
    }
  }

  test('transactions(): one page with signed decimal amounts', async () => {
    await makeOrders(2);
    const page = await client.transactions({ page: 1, perPage: 2 });
    assert.equal(page.page, 1);
    assert.equal(page.perPage, 2);
    assert.equal(page.items.length, 2);
    assert.equal(page.total, 5);
    assert.equal(page.totalPages, 3);
    assert.equal(page.hasMore, true);
    for (const t of page.items) {
      assert.match(t.amount, DECIMAL);
      assert.equal(typeof t.type, 'string');
    }
    const defaults = await client.transactions();
    assert.equal(defaults.perPage, 20);
    const reqs = await apiRequests(sb, 'GET', /\/transactions$/);
    assert.deepEqual(reqs.map((r) => r.query), ['page=1&per_page=2', 'page=1&per_page=20'], 'the core\'s defaults');
  });

  test('iterTransactions() is an async iterable that fetches pages lazily', async () => {
    await makeOrders(3); // 1 deposit + 3 debits + 3 refunds = 7
    await sb.clearRequests();
    const iterable = client.iterTransactions({ perPage: 3 });
    assert.equal(typeof iterable[Symbol.asyncIterator], 'function');
    assert.equal((await apiRequests(sb, 'GET', /transactions/)).length, 0, 'nothing fetched before iteration');
    const first = await iterable.next();
    assert.equal(first.done, false);
    assert.equal((await apiRequests(sb, 'GET', /transactions/)).length, 1, 'one page for the first item');
    const ids = [first.value.id];
    for await (const t of iterable) ids.push(t.id);
    assert.equal(ids.length, 7);
    assert.equal(new Set(ids).size, 7);
    assert.equal((await apiRequests(sb, 'GET', /transactions/)).length, 3);

    await sb.clearRequests();
    const all = [];
    for await (const t of client.iterTransactions()) all.push(t.id);
    assert.equal(all.length, 7);
    const reqs = await apiRequests(sb, 'GET', /transactions/);
    assert.deepEqual(reqs.map((r) => r.query), ['page=1&per_page=100'], 'the core\'s DEFAULT_ITER_PAGE_SIZE');
  });
});

describe('webhooks', () => {
  test('createWebhook(), webhooks(), deleteWebhook(); the secret is readable but not inspected', async () => {
    const hook = await client.createWebhook({
      endpointUrl: 'https://example.com/hooks/nexotp',
      events: ['order.created', 'order.code_received'],
    });
    assert.equal(typeof hook.id, 'string');
    assert.deepEqual(hook.events, ['order.created', 'order.code_received']);
    assert.equal(hook.endpointUrl, 'https://example.com/hooks/nexotp');
    assert.equal(typeof hook.secret, 'string');
    assert.ok(hook.secret.length > 8);
    assert.equal(hook.raw.secret, undefined, 'raw never holds the secret');
    const shown = util.inspect(hook);
    assert.ok(!shown.includes(hook.secret), shown);
    assert.match(shown, /redacted/);
    const hidden = util.inspect(hook, { showHidden: true, depth: 5 });
    assert.ok(!hidden.includes(hook.secret), hidden);
    const json = JSON.stringify(hook);
    assert.ok(!json.includes(hook.secret), json);
    assert.equal(JSON.parse(json).id, hook.id, 'the rest is serialized');
    assert.ok(!Object.keys(hook).includes('secret'), 'secret is not enumerable');
    assert.ok(!JSON.stringify({ ...hook }).includes(hook.secret), 'nor copied by a spread');
    const [post] = await apiRequests(sb, 'POST', /\/webhooks$/);
    assert.equal(post.body, '{"endpoint_url":"https://example.com/hooks/nexotp","events":["order.created","order.code_received"]}');

    const second = await client.createWebhook({ endpointUrl: 'https://example.com/b', events: 'order.expired, order.cancelled' });
    assert.deepEqual(second.events, ['order.expired', 'order.cancelled']);

    const list = await client.webhooks();
    assert.deepEqual(list.map((h) => h.id).sort(), [hook.id, second.id].sort());
    assert.ok(list.every((h) => h.secret === undefined));

    const deleted = await client.deleteWebhook(hook.id);
    assert.equal(deleted.deleted, true);
    assert.deepEqual((await client.webhooks()).map((h) => h.id), [second.id]);
  });
});

describe('client', () => {
  test('util.inspect(client) and JSON.stringify(client) never show the key', () => {
    const secretKey = 'sk_live_do_not_print_me';
    const c = new Client({ apiKey: secretKey, baseUrl: sb.baseUrl });
    const shown = util.inspect(c, { showHidden: true, depth: 5 }) + JSON.stringify(c) + String(c);
    assert.ok(!shown.includes(secretKey), shown);
    assert.match(util.inspect(c), /baseUrl/);
  });

  test('the key and user agent are sent; config comes from NEXOTP_API_KEY / NEXOTP_BASE_URL', async () => {
    const saved = { key: process.env.NEXOTP_API_KEY, url: process.env.NEXOTP_BASE_URL };
    process.env.NEXOTP_API_KEY = API_KEY;
    process.env.NEXOTP_BASE_URL = sb.baseUrl;
    try {
      const c = new Client();
      assert.equal(c.baseUrl, sb.baseUrl);
      await c.account();
    } finally {
      for (const [k, v] of [['NEXOTP_API_KEY', saved.key], ['NEXOTP_BASE_URL', saved.url]]) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    const [req] = await apiRequests(sb, 'GET', /\/account$/);
    assert.equal(req.headers['x-nexotp-api-key'], '[REDACTED]', 'the key header was sent');
    assert.match(req.headers['user-agent'], new RegExp(`^nexotp-node/${nexotp.VERSION} \\(Node\\.js ${process.version.replace(/\./g, '\\.')}; linux\\)$`));
    assert.equal(req.headers.accept, 'application/json');
  });

  test('withOptions() keeps the key and base URL, changes timeout and retries', () => {
    const c = client.withOptions({ timeoutMs: 1500, maxRetries: 0 });
    assert.ok(c instanceof Client);
    assert.equal(c.timeoutMs, 1500);
    assert.equal(c.maxRetries, 0);
    assert.equal(c.baseUrl, client.baseUrl);
    assert.equal(client.timeoutMs, 30000);
    assert.equal(client.maxRetries, 2);
  });

  test('the ESM entry exports the same classes as the CommonJS entry', async () => {
    const esm = await import('nexotp');
    assert.equal(esm.Client, Client);
    assert.equal(esm.NotFoundError, nexotp.NotFoundError);
    assert.equal(esm.verifyWebhook, nexotp.verifyWebhook);
    assert.equal(esm.default, nexotp);
    const c = new esm.Client({ apiKey: API_KEY, baseUrl: sb.baseUrl });
    assert.equal((await c.account()).balance, '25.00');
  });
});
