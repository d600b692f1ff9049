'use strict';
// `nexotp/testing`: the sandbox library inside the addon (no binary), its Promise API, and a
// script and a project using it as a user would (no `nexotp-sandbox` on PATH).

const { test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const nexotp = require('..');
const { Sandbox, Replay, Recording, replay, record } = require('nexotp/testing');

const ROOT = path.resolve(__dirname, '..');
const ORDER = { service: 'svc_telegram', country: 'cty_us' };

let sb;
before(async () => {
  sb = await Sandbox.start({ codeDelayMs: 200 });
});
beforeEach(() => sb.reset());
after(() => sb.close());

test('a full flow against the embedded sandbox, and its typed request log', async () => {
  assert.match(sb.baseUrl, /^http:\/\/127\.0\.0\.1:\d+\/wp-json\/nexotp\/v1\/$/);
  assert.equal(sb.rootUrl, new URL(sb.baseUrl).origin);
  assert.equal(sb.apiKey, 'sk_test_sandbox');
  assert.equal(sb.seed, 42);
  const client = sb.client();
  assert.equal(client.baseUrl, sb.baseUrl);
  const order = await client.createOrder(ORDER);
  assert.match((await client.waitForCode(order.id, { timeoutMs: 10_000 })).code, /^\d{6}$/);
  const second = await client.createOrder(ORDER);
  await sb.forceCode(second.id, '424242');
  assert.equal((await client.getOrder(second.id)).code, '424242');
  const third = await client.createOrder(ORDER);
  await sb.expire(third.id);
  assert.equal((await client.getOrder(third.id)).status, 'expired');
  assert.deepEqual(await sb.orderIds(), [order.id, second.id, third.id]);
  const requests = await sb.requests();
  const first = requests[0];
  assert.equal(first.method, 'POST');
  assert.equal(first.path, '/wp-json/nexotp/v1/order');
  assert.equal(first.status, 201);
  assert.equal(first.bucket, 'ORDER');
  assert.equal(JSON.parse(first.body).service, 'svc_telegram');
  assert.equal(first.headers['x-nexotp-api-key'], '[REDACTED]');
  assert.equal(typeof first.latencyMs, 'number');
  await sb.clearRequests();
  assert.deepEqual(await sb.requests(), []);
});

test('balance, state and reset', async () => {
  await sb.setBalance('1.50');
  assert.equal(await sb.balance(), '1.50');
  const client = sb.client();
  assert.equal((await client.account()).balance, '1.50');
  await sb.setBalance(0);
  await assert.rejects(client.createOrder(ORDER), nexotp.InsufficientBalanceError);
  assert.equal((await sb.state()).balance, '0.00');
  await sb.reset();
  assert.equal(await sb.balance(), '25.00');
  assert.deepEqual(await sb.orderIds(), []);
});

test('faults: camelCase or snake_case, replaced not merged, checked', async () => {
  const client = sb.client({ maxRetries: 0 });
  await sb.setFaults({ errorRate: 1 });
  await assert.rejects(client.countries(), nexotp.ServerError);
  assert.equal((await sb.faults()).error_rate, 1);
  await sb.setFaults({ script: [{ match: 'GET /account', fault: 'status', status: 503, retryAfter: '0' }] });
  assert.equal((await sb.faults()).error_rate, 0);
  await client.countries();
  await assert.rejects(client.account(), nexotp.ServerError);
  await client.account();
  await sb.setFaults({ error_rate: 1 });
  await sb.clearFaults();
  await client.account();
  assert.deepEqual((await sb.stats()).faults, { status: 2 });
  await assert.rejects(sb.setFaults({ errorRate: 2 }), nexotp.InvalidArgumentError);
  await assert.rejects(sb.setFaults({ script: [{ fault: 'no_such_fault' }] }), nexotp.InvalidArgumentError);
  await assert.rejects(sb.setFaults('drop'), nexotp.InvalidArgumentError);
});

test('rate limits', async () => {
  assert.equal(await sb.rateLimit('POLL'), null);
  await sb.setRateLimit('POLL', 0.01, { burst: 1, retryAfter: '0' });
  assert.deepEqual(await sb.rateLimit('poll'), { per_second: 0.01, burst: 1, retry_after: '0' });
  const client = sb.client({ maxRetries: 0 });
  const order = await client.createOrder(ORDER);
  await client.getOrder(order.id);
  await assert.rejects(client.getOrder(order.id), nexotp.RateLimitError);
  await sb.setRateLimit('POLL', null);
  assert.equal(await sb.rateLimit('POLL'), null);
  await assert.rejects(sb.setRateLimit('NOPE', 1), nexotp.InvalidArgumentError);
  await assert.rejects(sb.setRateLimit('POLL', -1), nexotp.InvalidArgumentError);
  await assert.rejects(sb.setRateLimit('POLL', '5'), nexotp.InvalidArgumentError);
});

test('start options, and reset goes back to them; bad options throw', async () => {
  const own = await Sandbox.start({
    apiKey: 'sk_test_mine', seed: 7, balance: '3.00', rateLimits: { ORDER: { perSecond: 0.01, burst: 1 } },
    faults: { latencyMs: 1 },
  });
  try {
    assert.equal(own.apiKey, 'sk_test_mine');
    assert.equal(own.seed, 7);
    assert.deepEqual(await own.rateLimit('ORDER'), { per_second: 0.01, burst: 1 });
    await own.setFaults();
    await own.reset();
    assert.equal((await own.faults()).latency_ms, 1);
    assert.equal((await own.client().account()).balance, '3.00');
    await assert.rejects(own.client({ apiKey: 'sk_wrong' }).account(), nexotp.AuthenticationError);
  } finally {
    await own.close();
  }
  await assert.rejects(Sandbox.start({ faults: { dropRate: 5 } }), nexotp.InvalidArgumentError);
  await assert.rejects(Sandbox.start({ rateLimits: { NOPE: 1 } }), nexotp.InvalidArgumentError);
  await assert.rejects(Sandbox.start({ codeDelay: 1 }), /unknown option `codeDelay`/);
  await assert.rejects(Sandbox.start({ seed: 'x' }), nexotp.InvalidArgumentError);
  assert.throws(() => new Sandbox(), TypeError);
});

test('control errors; close is idempotent, asyncDispose closes, nothing listens after', async () => {
  await assert.rejects(sb.forceCode('999', '1'), (e) => e instanceof nexotp.NexOTPError && /order 999 not found/.test(e.message));
  await assert.rejects(sb.expire({}), nexotp.InvalidArgumentError);
  const own = await Sandbox.start();
  assert.equal(own.closed, false);
  const url = own.baseUrl;
  await own[Symbol.asyncDispose]();
  assert.equal(own.closed, true);
  await own.close();
  await assert.rejects(own.reset(), /not running/);
  const client = new nexotp.Client({ apiKey: 'k', baseUrl: url, maxRetries: 0, connectTimeoutMs: 2000 });
  await assert.rejects(client.account(), nexotp.APIConnectionError);
});

test('webhook deliveries', async () => {
  const bodies = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { bodies.push(body); res.end('ok'); });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const client = sb.client();
    const hook = await client.createWebhook({ endpointUrl: `http://127.0.0.1:${server.address().port}/hook`, events: ['order.created'] });
    const order = await client.createOrder(ORDER);
    for (let i = 0; i < 200 && !(await sb.deliveries()).some((d) => d.state === 'delivered'); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const deliveries = await sb.deliveries();
    assert.equal(deliveries.length, 1);
    const [d] = deliveries;
    assert.deepEqual([d.eventType, d.orderId, d.webhookId, d.state, d.lastStatus], ['order.created', order.id, hook.id, 'delivered', 200]);
    assert.equal(nexotp.verifyWebhook(d.payload, d.signature, hook.secret).type, 'order.created');
    const again = await sb.replayDelivery(d.id);
    assert.equal(again.replayOf, d.id);
    assert.equal(bodies.length >= 1, true);
  } finally {
    server.close();
  }
});

test('require and import give the same Sandbox class', async () => {
  const esm = await import('nexotp/testing');
  assert.equal(esm.Sandbox, Sandbox);
  assert.equal(esm.default.Sandbox, Sandbox);
});

/** Env for a child that has no `nexotp-sandbox` binary on PATH (nor NEXOTP_SANDBOX_BIN). */
function userEnv() {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('NEXOTP_')) delete env[k];
  delete env.NODE_TEST_CONTEXT; // the child runs its own tests, not as a part of this run
  env.PATH = (env.PATH || '').split(path.delimiter).filter((p) => p && !fs.existsSync(path.join(p, 'nexotp-sandbox'))).join(path.delimiter);
  return env;
}

/** A project of its own whose node_modules/nexotp is this package (as `npm install` gives). */
function project() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nexotp-kit-'));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'nexotp'), 'dir');
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'kit-user', private: true }));
  return dir;
}

test('a script that closes its sandbox exits by itself, and so does one that forgets to', () => {
  const dir = project();
  try {
    for (const close of [true, false]) {
      fs.writeFileSync(path.join(dir, 'script.js'), `
const { Sandbox, Replay, Recording, replay, record } = require('nexotp/testing');
(async () => {
  const sb = await Sandbox.start();
  const account = await sb.client().account();
  ${close ? 'await sb.close();' : ''}
  console.log('done', account.balance);
})();`);
      const r = spawnSync(process.execPath, ['script.js'], { cwd: dir, env: userEnv(), encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.signal, null, `close=${close}: the script did not exit by itself (killed after 30 s)`);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), 'done 25.00');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the node:test example of the README passes in a project of its own, no binary on PATH', () => {
  const dir = project();
  try {
    fs.copyFileSync(path.join(__dirname, 'examples', 'sandbox.example.mjs'), path.join(dir, 'sandbox.test.mjs'));
    const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', 'sandbox.test.mjs'], { cwd: dir, env: userEnv(), encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /# pass 6/);
    assert.match(r.stdout, /# fail 0/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Account, catalogue, price, webhook, an order, its code, a resend, a cancel, transactions. */
async function flow(client) {
  const out = { balanceBefore: (await client.account()).balance };
  out.services = (await client.services('cty_us')).map((s) => s.id);
  out.price = (await client.price('svc_telegram', 'cty_us')).price;
  const hook = await client.createWebhook({ endpointUrl: 'http://127.0.0.1:9/hook', events: ['order.code_received'] });
  const order = await client.createOrder(ORDER);
  const received = await client.waitForCode(order.id, { timeoutMs: 10_000, pollIntervalMs: 50 });
  const resent = await client.resendOrder(order.id);
  const other = await client.createOrder({ service: 'svc_telegram', country: 'cty_gb' });
  const cancelled = await client.cancelOrder(other.id);
  Object.assign(out, {
    orderId: order.id, phone: order.phone, code: received.code, resent: resent.status, cancelled: cancelled.status,
    webhooks: (await client.webhooks()).map((w) => w.id), deleted: (await client.deleteWebhook(hook.id)).deleted,
    hookSecret: hook.secret, balanceAfter: (await client.account()).balance,
    transactions: (await client.transactions()).items.map((t) => [t.type, t.amount]),
  });
  return out;
}

test('record a flow through the proxy, replay it: the same results, no secrets in the file', async () => {
  const key = 'sk_live_kit_secret_0123456789';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nexotp-traffic-'));
  const traffic = path.join(dir, 'traffic.json');
  try {
    const upstream = await Sandbox.start({ apiKey: key, codeDelayMs: 100 });
    const rec = await record({ upstream: upstream.baseUrl, out: traffic });
    assert.ok(rec instanceof Recording);
    assert.equal(rec.outPath, traffic);
    const recorded = await flow(rec.client({ apiKey: key }));
    assert.equal(await rec.exchanges(), (await upstream.requests()).length);
    assert.ok((await rec.traffic()).exchanges.length > 10);
    await rec.close();
    assert.equal(rec.closed, true);
    await upstream.close();
    const text = fs.readFileSync(traffic, 'utf8');
    assert.ok(!text.includes(key), 'the API key is not in the file');
    assert.ok(recorded.hookSecret && !text.includes(recorded.hookSecret), 'the webhook secret is not in the file');
    assert.ok(recorded.phone && !text.includes(recorded.phone.replace('+', '')), 'the phone number is not in the file');

    const rp = await replay(traffic);
    assert.ok(rp instanceof Replay);
    assert.equal(rp.apiKey, 'sk_test_replay');
    const replayed = await flow(rp.client());
    assert.deepEqual(await rp.unmatched(), []);
    assert.ok((await rp.served()) > 10);
    const err = await rp.client({ maxRetries: 0 }).createOrder({ service: 'svc_whatsapp', country: 'cty_us' }).catch((e) => e);
    assert.ok(err instanceof nexotp.NotFoundError, String(err));
    assert.equal(err.code, 'replay_no_match');
    assert.match(err.message, /POST .*\/order/);
    assert.deepEqual((await rp.unmatched()).map((r) => r.path), ['/wp-json/nexotp/v1/order']);
    await rp[Symbol.asyncDispose]();
    assert.equal(rp.closed, true);

    const differs = Object.keys(recorded).filter((k) => JSON.stringify(recorded[k]) !== JSON.stringify(replayed[k]));
    assert.deepEqual(differs.sort(), ['hookSecret', 'phone'], 'only what the file redacts differs');
    assert.match(replayed.phone, /^\+999/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('record and replay errors', async () => {
  await assert.rejects(record({ upstream: 'ftp://example.com/', out: path.join(os.tmpdir(), 'nexotp-never.json') }), /upstream/);
  await assert.rejects(record({ upstream: 'https://example.com/' }), nexotp.InvalidArgumentError);
  await assert.rejects(replay(path.join(os.tmpdir(), 'nexotp-missing-traffic.json')), /cannot read/);
  await assert.rejects(replay(42), nexotp.InvalidArgumentError);
});

test('named scenarios work through the embedded sandbox', async () => {
  await assert.rejects(sb.client({ apiKey: 'sk_test_no_balance' }).createOrder(ORDER), nexotp.InsufficientBalanceError);
  const client = sb.client();
  const order = await client.createOrder({ service: 'svc_test_expires', country: 'cty_us' });
  await assert.rejects(client.waitForCode(order.id, { timeoutMs: 10_000, pollIntervalMs: 50 }), nexotp.OrderClosedError);
});
