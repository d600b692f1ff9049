'use strict';
// Bad input fails before any request: the core's value rules (reached through the binding) and
// the JS type mistakes the binding catches itself. Each case names the argument, and the
// sandbox's request log stays empty.

const { describe, test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { startSandbox, nexotp, API_KEY, rejectsWith, throwsWith, apiRequests } = require('./helpers.js');

const { InvalidArgumentError, Client } = nexotp;
let sb;
let c;

before(async () => {
  sb = await startSandbox();
  c = sb.client();
});
after(() => sb.stop());
beforeEach(() => sb.reset());

const svc = { service: 'svc_telegram', country: 'cty_us' };

// [label, argument named in the error, call]
const asyncCases = [
  // the core's rules
  ...['', 'a/b', 'a?b', 'a#b', '..', '.', 'a b', 'a\nb', 'a%2F', 'x'.repeat(300)].flatMap((id) => [
    [`getOrder(${JSON.stringify(id.slice(0, 12))})`, 'id', () => c.getOrder(id)],
    [`cancelOrder(${JSON.stringify(id.slice(0, 12))})`, 'id', () => c.cancelOrder(id)],
  ]),
  ['resendOrder("")', 'id', () => c.resendOrder('')],
  ['deleteWebhook("../1")', 'id', () => c.deleteWebhook('../1')],
  ['waitForCode("a/b")', 'id', () => c.waitForCode('a/b')],
  ['transactions page 0', 'page', () => c.transactions({ page: 0 })],
  ['transactions perPage 0', 'perPage', () => c.transactions({ perPage: 0 })],
  ['transactions perPage 101', 'perPage', () => c.transactions({ perPage: 101 })],
  ['services("")', 'country', () => c.services('')],
  ['services("us/../x")', 'country', () => c.services('us/../x')],
  ['price("", "cty_us")', 'service', () => c.price('', 'cty_us')],
  ['price("svc", "a b")', 'country', () => c.price('svc_telegram', 'a b')],
  ['createOrder service ""', 'service', () => c.createOrder({ ...svc, service: '' })],
  ['createOrder country "?"', 'country', () => c.createOrder({ ...svc, country: 'cty?x' })],
  ['createOrder pool "a/b"', 'pool', () => c.createOrder({ ...svc, pool: 'a/b' })],
  ['createOrder maxPrice "-1"', 'maxPrice', () => c.createOrder({ ...svc, maxPrice: '-1' })],
  ['createOrder maxPrice -0.5', 'maxPrice', () => c.createOrder({ ...svc, maxPrice: -0.5 })],
  ['createOrder maxPrice "abc"', 'maxPrice', () => c.createOrder({ ...svc, maxPrice: 'abc' })],
  ['createOrder pricingOption "fastest"', 'pricingOption', () => c.createOrder({ ...svc, pricingOption: 'fastest' })],
  ['createOrder pricingOption 2', 'pricingOption', () => c.createOrder({ ...svc, pricingOption: 2 })],
  ['waitForCode timeoutMs 0', 'timeoutMs', () => c.waitForCode('5001', { timeoutMs: 0 })],
  ['waitForCode pollIntervalMs 0', 'pollIntervalMs', () => c.waitForCode('5001', { pollIntervalMs: 0 })],
  ['createWebhook endpointUrl ""', 'endpointUrl', () => c.createWebhook({ endpointUrl: '', events: ['order.created'] })],
  ['createWebhook http non-loopback', 'endpointUrl', () => c.createWebhook({ endpointUrl: 'http://example.com/h', events: ['order.created'] })],
  ['createWebhook relative URL', 'endpointUrl', () => c.createWebhook({ endpointUrl: 'example.com/h', events: ['order.created'] })],
  ['createWebhook credentials', 'endpointUrl', () => c.createWebhook({ endpointUrl: 'https://u:p@example.com/h', events: ['order.created'] })],
  ['createWebhook ftp', 'endpointUrl', () => c.createWebhook({ endpointUrl: 'ftp://example.com/h', events: ['order.created'] })],
  ['createWebhook events []', 'events', () => c.createWebhook({ endpointUrl: 'https://example.com/h', events: [] })],
  ['createWebhook events [""]', 'events', () => c.createWebhook({ endpointUrl: 'https://example.com/h', events: [''] })],
  ['createWebhook events ["a b"]', 'events', () => c.createWebhook({ endpointUrl: 'https://example.com/h', events: ['order created'] })],
  ['createWebhook events ["a,b"]', 'events', () => c.createWebhook({ endpointUrl: 'https://example.com/h', events: ['order.created,order.expired'] })],
  ['createWebhook events "a,,b"', 'events', () => c.createWebhook({ endpointUrl: 'https://example.com/h', events: 'order.created,,order.expired' })],
  // JS type mistakes
  ['transactions perPage "10"', 'perPage', () => c.transactions({ perPage: '10' })],
  ['transactions perPage NaN', 'perPage', () => c.transactions({ perPage: NaN })],
  ['transactions page 1.5', 'page', () => c.transactions({ page: 1.5 })],
  ['transactions page -1', 'page', () => c.transactions({ page: -1 })],
  ['transactions options "x"', 'options', () => c.transactions('x')],
  ['transactions unknown option', 'options', () => c.transactions({ per_page: 10 })],
  ['getOrder({})', 'id', () => c.getOrder({})],
  ['getOrder(null)', 'id', () => c.getOrder(null)],
  ['getOrder()', 'id', () => c.getOrder()],
  ['getOrder(1.5)', 'id', () => c.getOrder(1.5)],
  ['getOrder([1])', 'id', () => c.getOrder([1])],
  ['cancelOrder(true)', 'id', () => c.cancelOrder(true)],
  ['resendOrder(Symbol)', 'id', () => c.resendOrder(Symbol('x'))],
  ['deleteWebhook(undefined)', 'id', () => c.deleteWebhook(undefined)],
  ['services(5)', 'country', () => c.services(5)],
  ['price("svc", null)', 'country', () => c.price('svc_telegram', null)],
  ['createOrder()', 'request', () => c.createOrder()],
  ['createOrder("svc")', 'request', () => c.createOrder('svc_telegram')],
  ['createOrder service 5', 'service', () => c.createOrder({ ...svc, service: 5 })],
  ['createOrder country missing', 'country', () => c.createOrder({ service: 'svc_telegram' })],
  ['createOrder maxPrice NaN', 'maxPrice', () => c.createOrder({ ...svc, maxPrice: NaN })],
  ['createOrder maxPrice Infinity', 'maxPrice', () => c.createOrder({ ...svc, maxPrice: Infinity })],
  ['createOrder maxPrice {}', 'maxPrice', () => c.createOrder({ ...svc, maxPrice: {} })],
  ['createOrder maxPrice 1n', 'maxPrice', () => c.createOrder({ ...svc, maxPrice: 1n })],
  ['createOrder pricingOption true', 'pricingOption', () => c.createOrder({ ...svc, pricingOption: true })],
  ['createOrder pool 7', 'pool', () => c.createOrder({ ...svc, pool: 7 })],
  ['createOrder typo maxprice', 'request', () => c.createOrder({ ...svc, maxprice: '1.00' })],
  ['waitForCode timeoutMs "1000"', 'timeoutMs', () => c.waitForCode('5001', { timeoutMs: '1000' })],
  ['waitForCode timeoutMs NaN', 'timeoutMs', () => c.waitForCode('5001', { timeoutMs: NaN })],
  ['waitForCode timeoutMs -5', 'timeoutMs', () => c.waitForCode('5001', { timeoutMs: -5 })],
  ['waitForCode pollIntervalMs Infinity', 'pollIntervalMs', () => c.waitForCode('5001', { pollIntervalMs: Infinity })],
  ['waitForCode cancelOnTimeout "yes"', 'cancelOnTimeout', () => c.waitForCode('5001', { cancelOnTimeout: 'yes' })],
  ['waitForCode signal {}', 'signal', () => c.waitForCode('5001', { signal: {} })],
  ['waitForCode id {}', 'id', () => c.waitForCode({}, {})],
  ['createWebhook events 5', 'events', () => c.createWebhook({ endpointUrl: 'https://example.com/h', events: 5 })],
  ['createWebhook events [1]', 'events', () => c.createWebhook({ endpointUrl: 'https://example.com/h', events: [1] })],
  ['createWebhook endpointUrl URL object', 'endpointUrl', () => c.createWebhook({ endpointUrl: new URL('https://example.com'), events: ['order.created'] })],
];

const syncCases = [
  ['new Client({ apiKey: "" })', 'apiKey', () => new Client({ apiKey: '', baseUrl: sb.baseUrl })],
  ['new Client({ apiKey: "a b" })', 'apiKey', () => new Client({ apiKey: 'a b', baseUrl: sb.baseUrl })],
  ['new Client({ apiKey: 42 })', 'apiKey', () => new Client({ apiKey: 42, baseUrl: sb.baseUrl })],
  ['new Client({ baseUrl: "http://example.com" })', 'baseUrl', () => new Client({ apiKey: API_KEY, baseUrl: 'http://example.com/' })],
  ['new Client({ baseUrl: "not a url" })', 'baseUrl', () => new Client({ apiKey: API_KEY, baseUrl: 'not a url' })],
  ['new Client({ timeoutMs: 0 })', 'timeoutMs', () => new Client({ apiKey: API_KEY, baseUrl: sb.baseUrl, timeoutMs: 0 })],
  ['new Client({ timeoutMs: "5" })', 'timeoutMs', () => new Client({ apiKey: API_KEY, baseUrl: sb.baseUrl, timeoutMs: '5' })],
  ['new Client({ maxRetries: -1 })', 'maxRetries', () => new Client({ apiKey: API_KEY, baseUrl: sb.baseUrl, maxRetries: -1 })],
  ['new Client({ maxRetries: 1.5 })', 'maxRetries', () => new Client({ apiKey: API_KEY, baseUrl: sb.baseUrl, maxRetries: 1.5 })],
  ['new Client({ api_key })', 'options', () => new Client({ api_key: API_KEY })],
  ['new Client("key")', 'options', () => new Client(API_KEY)],
  ['withOptions({ timeoutMs: 0 })', 'timeoutMs', () => c.withOptions({ timeoutMs: 0 })],
  ['withOptions({ maxRetries: "2" })', 'maxRetries', () => c.withOptions({ maxRetries: '2' })],
  ['iterTransactions({ perPage: 0 })', 'perPage', () => c.iterTransactions({ perPage: 0 })],
  ['iterTransactions({ perPage: "5" })', 'perPage', () => c.iterTransactions({ perPage: '5' })],
];

describe('bad input never reaches the sandbox', () => {
  for (const [label, argument, run] of asyncCases) {
    test(`${label} → InvalidArgumentError(${argument})`, async () => {
      const err = await rejectsWith(run(), InvalidArgumentError);
      assert.equal(err.argument, argument, err.message);
      assert.ok(err.message.includes(`\`${argument}\``), err.message);
      assert.equal((await apiRequests(sb)).length, 0, 'no request was sent');
    });
  }
  for (const [label, argument, run] of syncCases) {
    test(`${label} → InvalidArgumentError(${argument}) thrown at once`, async () => {
      const err = throwsWith(run, InvalidArgumentError);
      assert.equal(err.argument, argument, err.message);
      assert.equal((await apiRequests(sb)).length, 0, 'no request was sent');
    });
  }

  test('a type mistake with an API key or a webhook secret names the type, never the value', () => {
    const cases = [
      [() => new Client({ apiKey: 12345678, baseUrl: sb.baseUrl }), 'apiKey', '12345678', 'a number'],
      [() => new Client('sk_live_in_the_wrong_place'), 'options', 'sk_live_in_the_wrong_place', 'a string'],
      [() => nexotp.verifyWebhook('{}', 't=1,v1=00', 87654321), 'secret', '87654321', 'a number'],
      [() => nexotp.signWebhook('{}', 97531357), 'secret', '97531357', 'a number'],
    ];
    for (const [run, argument, value, type] of cases) {
      const err = throwsWith(run, InvalidArgumentError);
      assert.equal(err.argument, argument, err.message);
      assert.ok(err.message.includes(type), err.message);
      assert.ok(!err.message.includes(value) && !err.rule.includes(value), err.message);
    }
  });

  test('async methods reject (they never throw synchronously)', () => {
    const p = c.getOrder({});
    assert.ok(p instanceof Promise);
    return rejectsWith(p, InvalidArgumentError);
  });
});
