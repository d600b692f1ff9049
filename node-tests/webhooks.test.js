'use strict';
// Webhooks end to end: a local `http` receiver gets the sandbox's signed deliveries and
// verifies them with `verifyWebhook` on the raw body; plus the signing helpers on their own.

const { describe, test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { startSandbox, nexotp, throwsWith, sleep } = require('./helpers.js');

const { verifyWebhook, signWebhook, WebhookVerificationError, InvalidArgumentError, SIGNATURE_HEADER } = nexotp;
let sb;
let client;

before(async () => {
  sb = await startSandbox(['--code-delay-ms', '600000']);
  client = sb.client();
});
after(() => sb.stop());
beforeEach(() => sb.reset());

/** A receiver that verifies like a user's handler would: raw body bytes + header + secret. */
function startReceiver(getSecret) {
  const received = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      try {
        const event = verifyWebhook(raw, req.headers[SIGNATURE_HEADER], getSecret());
        received.push({ ok: true, event, raw, header: req.headers[SIGNATURE_HEADER] });
        res.writeHead(200).end('ok');
      } catch (err) {
        received.push({ ok: false, err, raw });
        res.writeHead(400).end(String(err.message));
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ url: `http://127.0.0.1:${server.address().port}/hooks`, received, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

async function until(predicate, what) {
  for (let i = 0; i < 500; i++) {
    if (await predicate()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('deliveries', () => {
  test('the sandbox signs deliveries that verifyWebhook accepts, with the order decoded', async () => {
    let secret = '';
    const receiver = await startReceiver(() => secret);
    try {
      const hook = await client.createWebhook({
        endpointUrl: receiver.url,
        events: ['order.created', 'order.code_received', 'order.cancelled'],
      });
      secret = hook.secret;
      const order = await client.createOrder({ service: 'svc_telegram', country: 'cty_us' });
      await sb.control('POST', `orders/${order.id}/code`, { code: '135790' });
      const other = await client.createOrder({ service: 'svc_google', country: 'cty_gb' });
      await client.cancelOrder(other.id);
      await until(() => receiver.received.length >= 4, 'four deliveries');
      assert.ok(receiver.received.every((r) => r.ok), receiver.received.filter((r) => !r.ok).map((r) => r.err.message).join('; '));
      const types = receiver.received.map((r) => `${r.event.type}:${r.event.order.id}`).sort();
      assert.deepEqual(types, [
        `order.cancelled:${other.id}`,
        `order.code_received:${order.id}`,
        `order.created:${order.id}`,
        `order.created:${other.id}`,
      ].sort());
      const codeEvent = receiver.received.find((r) => r.event.type === 'order.code_received').event;
      assert.equal(codeEvent.order.code, '135790');
      assert.match(codeEvent.id, /^evt_/);
      assert.equal(typeof codeEvent.createdAt, 'number');
      assert.equal(codeEvent.raw.type, 'order.code_received');
      // The receiver has answered; the sandbox records that a moment later.
      await until(
        async () => (await sb.control('GET', 'deliveries')).every((d) => d.state === 'delivered'),
        'every delivery recorded as delivered',
      );

      // A user's mistakes: re-serialized JSON, the wrong secret, a replay far in the future.
      const sample = receiver.received[0];
      const reserialized = JSON.stringify(JSON.parse(sample.raw.toString('utf8')), null, 2);
      throwsWith(() => verifyWebhook(reserialized, sample.header, secret), WebhookVerificationError);
      throwsWith(() => verifyWebhook(sample.raw, sample.header, 'whsec_wrong'), WebhookVerificationError);
      throwsWith(() => verifyWebhook(sample.raw, sample.header, secret, { toleranceSec: -1 }), InvalidArgumentError);
      const later = verifyWebhook(sample.raw, sample.header, secret, { toleranceSec: 10 });
      assert.equal(later.id, sample.event.id);
    } finally {
      await receiver.close();
    }
  });
});

describe('signWebhook / verifyWebhook', () => {
  const body = '{"id":"evt_1","type":"order.code_received","created_at":1700000000,"data":{"id":5001,"status":"received","code":"123456"}}';

  test('round trip with a string, a Buffer and a Uint8Array', () => {
    const header = signWebhook(body, 'whsec_test');
    assert.match(header, /^t=\d+,v1=[0-9a-f]{64}$/);
    for (const payload of [body, Buffer.from(body), new Uint8Array(Buffer.from(body))]) {
      const event = verifyWebhook(payload, header, 'whsec_test');
      assert.equal(event.type, 'order.code_received');
      assert.equal(event.order.code, '123456');
      assert.equal(event.order.id, '5001');
    }
  });

  test('an old timestamp, a missing header and a tampered body are rejected with reasons', () => {
    const old = signWebhook(body, 'whsec_test', { timestamp: Math.floor(Date.now() / 1000) - 1000 });
    assert.match(throwsWith(() => verifyWebhook(body, old, 'whsec_test'), WebhookVerificationError).message, /old/);
    assert.ok(verifyWebhook(body, old, 'whsec_test', { toleranceSec: 2000 }));
    assert.match(throwsWith(() => verifyWebhook(body, undefined, 'whsec_test'), WebhookVerificationError).message, /missing/);
    const header = signWebhook(body, 'whsec_test');
    throwsWith(() => verifyWebhook(body.replace('123456', '654321'), header, 'whsec_test'), WebhookVerificationError);
  });

  test('a rotated secret: any matching v1 is enough', () => {
    const ts = Math.floor(Date.now() / 1000);
    const a = signWebhook(body, 'whsec_old', { timestamp: ts });
    const b = signWebhook(body, 'whsec_new', { timestamp: ts });
    const both = `${a},${b.split(',')[1]}`;
    assert.ok(verifyWebhook(body, both, 'whsec_new'));
    assert.ok(verifyWebhook(body, both, 'whsec_old'));
  });

  test('signWebhook without a timestamp signs with the current time', () => {
    const before = Math.floor(Date.now() / 1000);
    const header = signWebhook(body, 'whsec_test');
    const after = Math.floor(Date.now() / 1000);
    const t = Number(/^t=(\d+),/.exec(header)[1]);
    assert.ok(t >= before && t <= after, `${t} in [${before}, ${after}]`);
    assert.equal(header, signWebhook(body, 'whsec_test', { timestamp: t }));
  });

  test('toleranceSec is in seconds: its errors say so, and the core checks its value', () => {
    const header = signWebhook(body, 'whsec_test');
    const typeErr = throwsWith(() => verifyWebhook(body, header, 'whsec_test', { toleranceSec: '5' }), InvalidArgumentError);
    assert.equal(typeErr.argument, 'toleranceSec');
    assert.match(typeErr.message, /seconds/);
    assert.doesNotMatch(typeErr.message, /milliseconds/);
    for (const bad of [-1, NaN, Infinity, 400 * 24 * 3600]) {
      const err = throwsWith(() => verifyWebhook(body, header, 'whsec_test', { toleranceSec: bad }), InvalidArgumentError);
      assert.equal(err.argument, 'toleranceSec', err.message);
      assert.match(err.message, /seconds/);
    }
    // Zero is a valid tolerance (only the current second passes): never an InvalidArgumentError.
    try {
      assert.equal(verifyWebhook(body, signWebhook(body, 'whsec_test'), 'whsec_test', { toleranceSec: 0 }).id, 'evt_1');
    } catch (err) {
      assert.ok(err instanceof WebhookVerificationError, err.message);
    }
  });

  test('type mistakes are InvalidArgumentError', () => {
    throwsWith(() => verifyWebhook({ id: 1 }, 't=1,v1=00', 'x'), InvalidArgumentError);
    throwsWith(() => verifyWebhook(body, 't=1,v1=00', undefined), InvalidArgumentError);
    throwsWith(() => signWebhook(body, 'x', { timestamp: 1.5 }), InvalidArgumentError);
  });
});

test('a missing signature is a WebhookVerificationError (the core rule, as in Python)', () => {
  const body = Buffer.from('{"id":"evt_1","type":"order.created","data":{}}');
  for (const header of [undefined, null, '', '  ']) {
    throwsWith(() => verifyWebhook(body, header, 'whsec_test'), WebhookVerificationError);
  }
});
