'use strict';
// Smoke test of an *installed* nexotp npm package against a running nexotp-sandbox.
//
// Run by scripts/test-dist (the packed tarballs installed offline into an empty project), by the
// release workflow on every runner, and by hand under emulation. Run it from the project that
// installed the package (`require('nexotp')` must resolve there, not to this repository).
// Environment: NEXOTP_BASE_URL (the sandbox URL), NEXOTP_API_KEY (default the sandbox's key).
//
// The flow: account, price, a webhook to a local receiver, an order, its code, and the signed
// delivery verified with verifyWebhook (plus one tampered body that must fail).

const http = require('node:http');
const path = require('node:path');
const { createRequire } = require('node:module');

// Resolve `nexotp` from the current directory (the installing project), never from this file:
// inside the repository, `nexotp` would resolve to the repository itself.
const projectRequire = createRequire(path.join(process.cwd(), 'smoke.js'));
const nexotp = projectRequire('nexotp');

async function main() {
  console.log(`smoke.js: nexotp from ${projectRequire.resolve('nexotp')} on ${process.arch}`);
  const deliveries = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      deliveries.push({ body: Buffer.concat(chunks), signature: req.headers['x-nexotp-signature'] ?? '' });
      res.writeHead(200).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = new nexotp.Client({ apiKey: process.env.NEXOTP_API_KEY ?? 'sk_test_sandbox' });
  try {
    const account = await client.account();
    const price = await client.price('svc_telegram', 'cty_us');
    const hook = await client.createWebhook({
      endpointUrl: `http://127.0.0.1:${server.address().port}/hooks`,
      events: ['order.code_received'],
    });
    if (!hook.secret) throw new Error('createWebhook returned no secret');
    const order = await client.createOrder({ service: 'svc_telegram', country: 'cty_us', maxPrice: price.price });
    const done = await client.waitForCode(order.id, { timeoutMs: 60_000, pollIntervalMs: 200 });
    if (!done.code) throw new Error(`no code: ${JSON.stringify(done)}`);
    const until = Date.now() + 30_000;
    while (deliveries.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    if (deliveries.length === 0) throw new Error('no webhook delivery arrived');
    const { body, signature } = deliveries[0];
    const event = nexotp.verifyWebhook(body, signature, hook.secret);
    if (event.type !== 'order.code_received' || event.order?.code !== done.code) {
      throw new Error(`unexpected event ${JSON.stringify(event)}`);
    }
    let tamperedVerified = true;
    try {
      nexotp.verifyWebhook(Buffer.from(body.toString().replace(done.code, '000000')), signature, hook.secret);
    } catch (e) {
      if (!(e instanceof nexotp.WebhookVerificationError)) throw e;
      tamperedVerified = false;
    }
    if (tamperedVerified) throw new Error('a tampered delivery verified');
    console.log(`smoke.js: ok (balance ${account.balance}, order ${order.id}, code ${done.code}, webhook verified)`);
  } finally {
    server.close();
  }
}

main().catch((e) => {
  console.error('smoke.js: FAILED', e);
  process.exit(1);
});
