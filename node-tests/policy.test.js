'use strict';
// One policy, in the core: the JS layer hands the environment's values to the core, whose
// rules (shared with Rust and Python) decide.

const test = require('node:test');
const assert = require('node:assert/strict');

const { nexotp } = require('./helpers.js');

function withEnv(values, fn) {
  const saved = Object.fromEntries(Object.keys(values).map((k) => [k, process.env[k]]));
  Object.assign(process.env, values);
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

test('a blank NEXOTP_BASE_URL means production, as in Rust and Python', () => {
  const c = withEnv({ NEXOTP_API_KEY: 'sk_test_env', NEXOTP_BASE_URL: '   ' }, () => new nexotp.Client());
  assert.equal(c.baseUrl, 'https://visualtrinitystudio.xyz/wp-json/nexotp/v1/');
});

test('options win over the environment; a missing key fails at construction', () => {
  const c = withEnv({ NEXOTP_API_KEY: 'sk_test_env', NEXOTP_BASE_URL: 'http://127.0.0.1:1/env/' }, () =>
    new nexotp.Client({ baseUrl: 'http://127.0.0.1:2/given/' }));
  assert.equal(c.baseUrl, 'http://127.0.0.1:2/given/');
  const saved = process.env.NEXOTP_API_KEY;
  delete process.env.NEXOTP_API_KEY;
  try {
    assert.throws(() => new nexotp.Client({ baseUrl: 'http://127.0.0.1:2/' }), nexotp.InvalidArgumentError);
  } finally {
    if (saved !== undefined) process.env.NEXOTP_API_KEY = saved;
  }
});
