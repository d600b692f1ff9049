'use strict';
// client.watch(): many orders in one loop as an async iterator: each code once, orders added
// and removed while it runs, every way a watch ends, a fed webhook delivery, and process exit
// once the watcher is closed or dropped. Codes come through the sandbox's control endpoint.

const { describe, test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const { startSandbox, nexotp, apiRequests, sleep, ROOT, API_KEY } = require('./helpers.js');

let sb;
let client;

before(async () => {
  sb = await startSandbox(['--code-delay-ms', '600000']);
  client = sb.client();
});
after(() => sb.stop());
beforeEach(() => sb.reset());

const newOrder = async () => (await client.createOrder({ service: 'svc_telegram', country: 'cty_us' })).id;
const code = (id, c) => sb.control('POST', `orders/${id}/code`, c === undefined ? {} : { code: c });
const quick = { timeoutMs: 20000, pollIntervalMs: 50 };

describe('client.watch()', () => {
  test('each code comes once while orders are added and removed', async () => {
    const ids = [];
    for (let i = 0; i < 5; i += 1) ids.push(await newOrder());
    const watcher = client.watch();
    for (const id of ids.slice(0, 4)) watcher.add(id, quick);
    assert.equal(watcher.remove(ids[3]), true);
    assert.equal(watcher.remove(ids[3]), false);
    assert.equal(watcher.size, 3);
    setTimeout(async () => {
      for (const [n, id] of ids.slice(0, 3).entries()) await code(id, `20000${n}`);
      watcher.add(ids[4], quick);
      await code(ids[4], '200004');
    }, 100);
    const got = new Map();
    for await (const event of watcher) {
      assert.equal(event.kind, 'code');
      assert.equal(event.fromWebhook, false);
      assert.ok(!got.has(event.orderId), `a second event for ${event.orderId}`);
      got.set(event.orderId, event.code);
      assert.equal(event.order.code, event.code);
      if (got.size === 4) {
        // Later polls would see the same codes: none may come twice.
        setTimeout(() => watcher.close(), 300);
      }
    }
    assert.equal(watcher.closed, true);
    assert.deepEqual(
      Object.fromEntries(got),
      { [ids[0]]: '200000', [ids[1]]: '200001', [ids[2]]: '200002', [ids[4]]: '200004' },
    );
    assert.throws(() => watcher.add(ids[0]), nexotp.InvalidArgumentError);
  });

  test('expired, timed out (cancelled) and unknown orders end with one event each', async () => {
    const expired = await newOrder();
    const timedOut = await newOrder();
    const watcher = client.watch();
    watcher.add(expired, quick).add(timedOut, { timeoutMs: 300, pollIntervalMs: 50, cancelOnTimeout: true });
    watcher.add('999999', { pollIntervalMs: 50 });
    assert.throws(() => watcher.add(expired, { pollIntervalMs: 0 }), nexotp.InvalidArgumentError);
    assert.throws(() => watcher.add(expired, { signal: 1 }), nexotp.InvalidArgumentError);
    assert.throws(() => watcher.feed({}), nexotp.InvalidArgumentError);
    await sb.control('POST', `orders/${expired}/expire`);
    const ends = {};
    for await (const event of watcher) {
      ends[event.orderId] = event;
      if (watcher.size === 0) break; // leaving the loop closes the watcher
    }
    assert.equal(watcher.closed, true);
    assert.equal(ends[expired].kind, 'expired');
    assert.equal(ends[timedOut].kind, 'timedOut');
    assert.equal(ends[timedOut].cancelled, true);
    assert.equal(ends['999999'].kind, 'failed');
    assert.ok(ends['999999'].error instanceof nexotp.NotFoundError);
  });

  test('a fed, verified delivery answers the order without a poll', async () => {
    const id = await newOrder();
    await code(id, '777777');
    const body = JSON.stringify({
      id: 'evt_1',
      type: 'order.code_received',
      created_at: 1,
      data: { id: Number(id), status: 'received', code: '777777', codes: ['777777'] },
    });
    const event = nexotp.verifyWebhook(body, nexotp.signWebhook(body, 'whsec_test'), 'whsec_test');
    const watcher = client.watch();
    watcher.add(id, { timeoutMs: 20000, pollIntervalMs: 5000 });
    assert.equal(watcher.feed(event), true);
    const { value, done } = await watcher.next();
    assert.equal(done, false);
    assert.equal(value.code, '777777');
    assert.equal(value.fromWebhook, true);
    watcher.close();
    assert.deepEqual(await watcher.next(), { value: undefined, done: true });
    assert.equal((await apiRequests(sb, 'GET', new RegExp(`/order/${id}$`))).length, 0);
  });

  test('a script exits by itself once its watcher is closed, or left unused', async () => {
    const script = `
const { Client } = require(${JSON.stringify(ROOT)});
const client = new Client({ apiKey: ${JSON.stringify(API_KEY)}, baseUrl: process.env.NEXOTP_SANDBOX_URL });
(async () => {
  const order = await client.createOrder({ service: 'svc_telegram', country: 'cty_us' });
  const watcher = client.watch();
  watcher.add(order.id, { pollIntervalMs: 50 });
  setTimeout(() => watcher.close(), 300);
  const events = [];
  for await (const e of watcher) events.push(e);
  const unused = client.watch();
  unused.add(order.id, { pollIntervalMs: 50 });
  console.log('DONE', events.length);
})();`;
    const started = Date.now();
    const r = await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', script], {
        cwd: ROOT,
        env: { ...process.env, NEXOTP_SANDBOX_URL: sb.baseUrl },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => { stderr += d; });
      const killer = setTimeout(() => child.kill('SIGKILL'), 20000);
      child.on('error', reject);
      child.on('exit', (exitCode, signal) => {
        clearTimeout(killer);
        resolve({ exitCode, signal, stdout, stderr });
      });
    });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /DONE 0/);
    assert.ok(Date.now() - started < 15000);
    await sleep(0);
  });
});
