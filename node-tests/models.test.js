'use strict';
// Types that tell the truth: every model the addon returns has exactly the keys `native.d.ts`
// declares (required ones present, no undeclared ones) with values of the declared types
// (`null` only where declared), walked recursively through arrays and nested models.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { ROOT, nexotp, startSandbox, rejectsWith } = require('./helpers.js');

/** `export interface Name { key?: Type }` of native.d.ts → { Name: { key: { type, optional } } }. */
function interfaces() {
  const text = fs.readFileSync(path.join(ROOT, 'bindings', 'node', 'native.d.ts'), 'utf8');
  const out = {};
  for (const m of text.matchAll(/^export interface (\w+) \{\n([\s\S]*?)^\}/gm)) {
    const fields = {};
    for (const line of m[2].split('\n')) {
      const f = /^ {2}(\w+)(\??): (.+)$/.exec(line);
      if (f) fields[f[1]] = { optional: f[2] === '?', type: f[3].trim() };
    }
    out[m[1]] = fields;
  }
  return out;
}

const IFACES = interfaces();

function checkValue(value, type, where, problems) {
  const options = type.split('|').map((t) => t.trim());
  if (value === null) {
    if (!options.includes('null')) problems.push(`${where}: null, declared ${type}`);
    return;
  }
  if (value === undefined) {
    if (!options.includes('undefined')) problems.push(`${where}: undefined, declared ${type}`);
    return;
  }
  const fits = options.some((t) => {
    if (t === 'string' || t === 'number' || t === 'boolean') return typeof value === t;
    if (t.startsWith("'")) return value === t.slice(1, -1); // a string literal type
    if (t === 'Record<string, unknown>' || t === 'any' || t === 'unknown') return typeof value === 'object' && !Array.isArray(value);
    const arr = /^Array<(.+)>$/.exec(t);
    if (arr) {
      if (!Array.isArray(value)) return false;
      value.forEach((v, i) => checkValue(v, arr[1], `${where}[${i}]`, problems));
      return true;
    }
    if (IFACES[t]) {
      checkModel(value, t, where, problems);
      return true;
    }
    return false;
  });
  if (!fits) problems.push(`${where}: ${JSON.stringify(value)} is not ${type}`);
}

function checkModel(obj, name, where, problems) {
  const fields = IFACES[name];
  assert.ok(fields, `native.d.ts declares no interface ${name}`);
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    problems.push(`${where}: not an object (${name})`);
    return;
  }
  for (const key of Object.getOwnPropertyNames(obj)) {
    if (!fields[key]) problems.push(`${where}.${key}: not declared in ${name}`);
  }
  for (const [key, { optional, type }] of Object.entries(fields)) {
    if (!(key in obj) || obj[key] === undefined) {
      if (!optional) problems.push(`${where}.${key}: required by ${name}, missing`);
      continue;
    }
    checkValue(obj[key], type, `${where}.${key}`, problems);
  }
}

test('every model the addon returns matches native.d.ts', async () => {
  const sb = await startSandbox(['--code-delay-ms', '0']);
  try {
    const client = sb.client();
    const problems = [];
    const seen = new Set();
    const check = (obj, name, where) => {
      seen.add(name);
      checkModel(obj, name, where, problems);
    };
    check(await client.account(), 'Account', 'account()');
    const order = await client.createOrder({ service: 'svc_telegram', country: 'cty_us', maxPrice: '5' });
    check(order, 'Order', 'createOrder()');
    check(await client.waitForCode(order.id, { pollIntervalMs: 50 }), 'Order', 'waitForCode()');
    check(await client.resendOrder(order.id), 'Order', 'resendOrder()');
    check(await client.getOrder(order.id), 'Order', 'getOrder()');
    check(await client.transactions(), 'TransactionPage', 'transactions()');
    for await (const t of client.iterTransactions({ perPage: 2 })) check(t, 'Transaction', 'iterTransactions()');
    for (const c of await client.countries()) check(c, 'Country', 'countries()');
    for (const s of await client.services('cty_us')) check(s, 'Service', 'services()');
    check(await client.price('svc_telegram', 'cty_us'), 'Price', 'price()');
    const hook = await client.createWebhook({ endpointUrl: 'https://example.com/h', events: ['order.created'] });
    check(hook, 'Webhook', 'createWebhook()');
    for (const w of await client.webhooks()) check(w, 'Webhook', 'webhooks()');
    check(await client.deleteWebhook(hook.id), 'WebhookDeleted', 'deleteWebhook()');
    await sb.faults({ script: [{ match: 'POST /order', fault: 'drop' }] });
    const unknown = await rejectsWith(client.createOrder({ service: 'svc_telegram', country: 'cty_us' }), nexotp.OrderOutcomeUnknownError);
    check(await client.reconcile(unknown), 'Reconciliation', 'reconcile()');
    const body = Buffer.from(JSON.stringify({ id: 'evt_1', type: 'order.code_received', created_at: 1700000000, data: { id: 5001, status: 'received', code: '123456' } }));
    const header = nexotp.signWebhook(body, 'whsec_test');
    check(nexotp.verifyWebhook(body, header, 'whsec_test'), 'WebhookEvent', 'verifyWebhook()');
    assert.deepStrictEqual(problems, []);
    for (const name of ['Account', 'Order', 'TransactionPage', 'Transaction', 'Country', 'Service', 'Price', 'Webhook', 'WebhookDeleted', 'Reconciliation', 'WebhookEvent']) {
      assert.ok(seen.has(name), `${name} was walked`);
    }
  } finally {
    await sb.stop();
  }
});
