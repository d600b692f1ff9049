'use strict';
// The same bytes from every language: Node's run of `spec/same-bytes.json`. Every call of the
// table goes through `Client` against a sandbox started as the table says; the requests the
// sandbox logged for each call must be exactly the table's `expect` (written by the Rust core's
// test), headers but User-Agent and Host included.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { ROOT, API_KEY, nexotp, startSandbox } = require('./helpers.js');

const TABLE = JSON.parse(fs.readFileSync(path.join(ROOT, 'spec', 'same-bytes.json'), 'utf8'));
const IGNORED_HEADERS = new Set(['user-agent', 'host']);

function normalise(r) {
  const headers = {};
  for (const key of Object.keys(r.headers).sort()) {
    if (!IGNORED_HEADERS.has(key)) headers[key] = r.headers[key];
  }
  return { method: r.method, path: r.path, query: r.query, body: r.body, headers };
}

/** One call of the table as a Node user writes it: camelCase, milliseconds, decimal strings. */
async function run(client, call, a) {
  const seconds = (s) => (s === undefined ? undefined : s * 1000);
  const defined = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  switch (call) {
    case 'account': return client.account();
    case 'transactions': return client.transactions(defined({ page: a.page, perPage: a.per_page }));
    case 'iter_transactions': {
      for await (const _ of client.iterTransactions(defined({ perPage: a.per_page }))) { /* drain */ }
      return undefined;
    }
    case 'countries': return client.countries();
    case 'services': return client.services(a.country);
    case 'price': return client.price(a.service, a.country);
    case 'create_order':
      return client.createOrder(defined({
        service: a.service,
        country: a.country,
        pool: a.pool,
        pricingOption: a.pricing_option,
        maxPrice: a.max_price,
      }));
    case 'get_order': return client.getOrder(a.id);
    case 'cancel_order': return client.cancelOrder(a.id);
    case 'resend_order': return client.resendOrder(a.id);
    case 'wait_for_code':
      return client.waitForCode(a.id, defined({ timeoutMs: seconds(a.timeout), pollIntervalMs: seconds(a.poll_interval) }));
    case 'webhooks': return client.webhooks();
    case 'create_webhook': return client.createWebhook({ endpointUrl: a.endpoint_url, events: a.events });
    case 'delete_webhook': return client.deleteWebhook(a.id);
    default: throw new Error(`the table names an unknown call ${call}`);
  }
}

test('the Node client sends the bytes of spec/same-bytes.json', async () => {
  assert.ok(TABLE.calls.length >= 30);
  const cfg = TABLE.sandbox;
  const sandbox = await startSandbox([
    '--api-key', API_KEY, '--seed', String(cfg.seed),
    '--code-delay-ms', String(cfg.code_delay_ms), '--balance', cfg.balance,
  ]);
  try {
    const client = sandbox.client();
    const diffs = [];
    for (const call of TABLE.calls) {
      await sandbox.clearRequests();
      try {
        await run(client, call.call, call.args);
      } catch (e) {
        if (!(e instanceof nexotp.APIError)) throw e; // only the sandbox's answers are expected
      }
      const sent = (await sandbox.requests()).map(normalise);
      try {
        assert.deepStrictEqual(sent, call.expect);
      } catch {
        diffs.push(`${call.name}: expected ${JSON.stringify(call.expect)}\n   sent ${JSON.stringify(sent)}`);
      }
    }
    assert.deepStrictEqual(diffs, [], `Node differs:\n${diffs.join('\n')}`);
  } finally {
    await sandbox.stop();
  }
});
