// Testing code that rents numbers with node:test and only `npm install nexotp`: no binary, no
// network. (The README's "Testing your code" shows this file; node-tests/testing.test.js runs
// it as a user would, from a project of its own.)
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { InsufficientBalanceError, ServerError } from 'nexotp';
import { Sandbox } from 'nexotp/testing';

/** The code under test: rent a number and wait for its code. */
async function rentAndReadCode(client) {
  const order = await client.createOrder({ service: 'svc_telegram', country: 'cty_us' });
  return (await client.waitForCode(order.id, { timeoutMs: 30_000 })).code;
}

let sandbox;
let client;
before(async () => {
  sandbox = await Sandbox.start({ codeDelayMs: 200 }); // codes arrive after 0.2 s
  client = sandbox.client();
});
beforeEach(() => sandbox.reset()); // every test starts from the seeded world
after(() => sandbox.close());

test('reads the code', async () => {
  assert.match(await rentAndReadCode(client), /^\d{6}$/);
  const [first] = await sandbox.requests();
  assert.equal(first.method, 'POST');
});

test('a forced code', async () => {
  const order = await client.createOrder({ service: 'svc_telegram', country: 'cty_us' });
  await sandbox.forceCode(order.id, '424242');
  assert.equal((await client.getOrder(order.id)).code, '424242');
});

test('out of balance', async () => {
  await sandbox.setBalance('0.00');
  await assert.rejects(client.createOrder({ service: 'svc_telegram', country: 'cty_us' }), InsufficientBalanceError);
});

test('an expired order', async () => {
  const order = await client.createOrder({ service: 'svc_telegram', country: 'cty_us' });
  await sandbox.expire(order.id);
  assert.equal((await client.getOrder(order.id)).status, 'expired');
});

test('the API is down', async () => {
  await sandbox.setFaults({ script: [{ match: 'GET /account', fault: 'status', status: 503, times: 5 }] });
  await assert.rejects(client.account({ maxRetries: 1 }), ServerError);
});

test('a sandbox of its own, closed by `await using` (or close())', async () => {
  const own = await Sandbox.start({ balance: '1.00' });
  try {
    assert.equal((await own.client().account()).balance, '1.00');
  } finally {
    await own.close();
  }
});
