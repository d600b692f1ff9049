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

/** The call's own options as the last argument (a signal that never fires for `signal`). */
function callOptions(o = {}) {
  const out = {};
  if (o.timeout !== undefined) out.timeoutMs = o.timeout * 1000;
  if (o.max_retries !== undefined) out.maxRetries = o.max_retries;
  if (o.deadline !== undefined) out.deadlineMs = o.deadline * 1000;
  if (o.signal) out.signal = new AbortController().signal;
  return out;
}

/** One call of the table as a Node user writes it: camelCase, milliseconds, decimal strings. */
async function run(client, call, a, opts) {
  const seconds = (s) => (s === undefined ? undefined : s * 1000);
  const defined = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  switch (call) {
    case 'account': return client.account(opts);
    case 'transactions': return client.transactions(defined({ page: a.page, perPage: a.per_page }), opts);
    case 'iter_transactions': {
      for await (const _ of client.iterTransactions(defined({ perPage: a.per_page }), opts)) { /* drain */ }
      return undefined;
    }
    case 'countries': return client.countries(opts);
    case 'services': return client.services(a.country, opts);
    case 'price': return client.price(a.service, a.country, opts);
    case 'create_order':
      return client.createOrder(defined({
        service: a.service,
        country: a.country,
        pool: a.pool,
        pricingOption: a.pricing_option,
        maxPrice: a.max_price,
      }), opts);
    case 'get_order': return client.getOrder(a.id, opts);
    case 'cancel_order': return client.cancelOrder(a.id, opts);
    case 'resend_order': return client.resendOrder(a.id, opts);
    case 'wait_for_code':
      return client.waitForCode(a.id, defined({ timeoutMs: seconds(a.timeout), pollIntervalMs: seconds(a.poll_interval) }), opts);
    case 'webhooks': return client.webhooks(opts);
    case 'create_webhook': return client.createWebhook({ endpointUrl: a.endpoint_url, events: a.events }, opts);
    case 'delete_webhook': return client.deleteWebhook(a.id, opts);
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
        await run(client, call.call, call.args, callOptions(call.options));
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
