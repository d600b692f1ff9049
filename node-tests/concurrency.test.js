'use strict';
// Many calls at once on one client: 500 concurrent getOrder through Promise.all.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startSandbox, apiRequests } = require('./helpers.js');

let sb;
before(async () => {
  sb = await startSandbox(['--code-delay-ms', '600000']);
});
after(() => sb.stop());

test('500 concurrent getOrder calls all resolve with the right order', async () => {
  const client = sb.client();
  const orders = [];
  for (let i = 0; i < 5; i++) orders.push(await client.createOrder({ service: 'svc_telegram', country: 'cty_us' }));
  await sb.clearRequests();
  const ids = Array.from({ length: 500 }, (_, i) => orders[i % orders.length].id);
  const results = await Promise.all(ids.map((id) => client.getOrder(id)));
  assert.equal(results.length, 500);
  results.forEach((order, i) => {
    assert.equal(order.id, ids[i]);
    assert.equal(order.status, 'pending');
  });
  const polls = await apiRequests(sb, 'GET', /\/order\//);
  assert.equal(polls.length, 500, 'one request each, no retries needed');
  assert.ok(polls.every((r) => r.status === 200));
});

test('concurrent calls on different buckets and clients mix freely', async () => {
  const a = sb.client();
  const b = a.withOptions({ maxRetries: 0 });
  const work = [];
  for (let i = 0; i < 50; i++) {
    work.push(a.account(), b.countries(), a.price('svc_telegram', 'cty_us'));
  }
  const results = await Promise.all(work);
  assert.equal(results.length, 150);
  assert.ok(results.filter((r) => Array.isArray(r)).every((list) => list.length === 5));
});
