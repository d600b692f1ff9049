'use strict';
// rateLimitStore and rateLimits (issue 13): converted by the JS layer and the addon, parsed and
// checked by the core; NEXOTP_RATE_LIMIT_STORE read by the core; two clients sharing one Redis
// (two stores, as two processes would have) hold one limit together; an unreachable Redis never
// fails a call and never shows its password.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { startSandbox, nexotp, throwsWith } = require('./helpers.js');

const { InvalidArgumentError } = nexotp;

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

describe('rate-limit store options', () => {
  let sandbox;
  before(async () => {
    sandbox = await startSandbox(['--code-delay-ms', '600000']);
  });
  after(() => sandbox.stop());

  test('bad values fail at construction, naming the option', () => {
    const cases = [
      [{ rateLimitStore: 'ftp://host/' }, 'rate_limit_store'],
      [{ rateLimitStore: 6379 }, 'rateLimitStore'],
      [{ rateLimits: 'POLL=fast' }, 'rate_limits'],
      [{ rateLimits: { POLL: '20' } }, 'rateLimits.POLL'],
      [{ rateLimits: { POLL: { perSecond: 20, burst: 0 } } }, 'bucket'],
      [{ rateLimits: [20] }, 'rateLimits'],
    ];
    for (const [options, name] of cases) {
      const e = throwsWith(() => sandbox.client(options), InvalidArgumentError);
      assert.match(e.message, new RegExp(name.replace('.', '\\.')), JSON.stringify(options));
    }
  });

  test('NEXOTP_RATE_LIMIT_STORE is read by the core', async () => {
    process.env.NEXOTP_RATE_LIMIT_STORE = 'ftp://nowhere/';
    try {
      throwsWith(() => sandbox.client(), InvalidArgumentError);
      process.env.NEXOTP_RATE_LIMIT_STORE = 'memory';
      assert.ok((await sandbox.client().countries()).length > 0);
    } finally {
      delete process.env.NEXOTP_RATE_LIMIT_STORE;
    }
  });

  test('an unreachable Redis never fails a call and never shows its password', async () => {
    const url = `redis://:Pa55WORD@127.0.0.1:${await freePort()}/0`;
    const client = sandbox.client({ rateLimitStore: url, rateLimits: { GENERAL: { perSecond: 50, burst: 5 } } });
    for (let i = 0; i < 5; i += 1) {
      assert.ok((await client.countries()).length > 0);
    }
    assert.doesNotMatch(require('node:util').inspect(client), /Pa55WORD/);
  });

  test('two clients sharing one Redis hold one limit', { skip: !process.env.NEXOTP_TEST_REDIS_URL }, async () => {
    const url = process.env.NEXOTP_TEST_REDIS_URL;
    const limited = await startSandbox(['--rate', 'POLL=10/s,burst=2', '--code-delay-ms', '600000']);
    try {
      const a = limited.client({ rateLimitStore: url, rateLimits: { POLL: { perSecond: 10, burst: 1 } } });
      const b = limited.client({ rateLimitStore: url, rateLimits: 'POLL=10/s,burst=1' });
      const order = await a.createOrder({ service: 'svc_telegram', country: 'cty_us' });
      const polls = async (client) => {
        for (let i = 0; i < 10; i += 1) await client.getOrder(order.id);
      };
      await Promise.all([polls(a), polls(b)]);
      const stats = await limited.control('GET', 'stats');
      // Alone each keeps to 10/s; together, unshared, they would send 20/s into 10/s.
      assert.equal(stats.rate_limited_by_bucket.POLL, 0);
      assert.equal(stats.requests_by_bucket.POLL, 20);
    } finally {
      await limited.stop();
    }
  });
});
