'use strict';
/**
 * `nexotp/testing`: a NexOTP sandbox inside your Node process, for your tests.
 *
 *     const { Sandbox } = require('nexotp/testing');
 *     const sandbox = await Sandbox.start();        // a loopback port: no binary, no network
 *     const client = sandbox.client();
 *     const order = await client.createOrder('svc_telegram', 'cty_us');
 *     await sandbox.forceCode(order.id, '123456');
 *     await sandbox.close();
 *
 * The server is the `nexotp-sandbox` library (the one behind the `nexotp-sandbox` binary),
 * compiled into the addon and run on its runtime: it starts in well under a millisecond and
 * speaks real HTTP, so the client under test is the real one. This file only checks JS types and
 * gives the Promise API; every rule is the sandbox's (faults, limits, the request log). The server
 * never keeps the event loop alive: `close()` (or `await using`) ends it, and a script that
 * forgets to still exits.
 */

const util = require('node:util');
const index = require('./index.js');

const { Client } = index;
const { native, dispatcher, submit, call, invalid, describe, opts, str, secretStr, id, money, optMs, optU32 } =
  index[Symbol.for('nexotp.internal')];

const START_OPTIONS = [
  'apiKey', 'seed', 'codeDelayMs', 'codeDelaySpreadMs', 'orderTtlMs', 'balance', 'stock', 'faults', 'rateLimits',
  'requestLogLimit', 'host', 'port',
];
const kCreate = Symbol('nexotp.testing.create');
const asyncDispose = Symbol.asyncDispose ?? Symbol.for('nodejs.asyncDispose');

/** camelCase keys (`errorRate`, `retryAfter`) to the sandbox's snake_case, all the way down. */
function snakeKeys(value) {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value === null || typeof value !== 'object') return value;
  const out = {};
  for (const [k, v] of Object.entries(value)) out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = snakeKeys(v);
  return out;
}

/** Faults: the sandbox's JSON form as an object (camelCase keys accepted), as JSON text. */
function faultsJson(argument, value) {
  if (value === undefined || value === null) return '{}';
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(argument, `must be an object like { errorRate: 0.2 } or { script: [...] }, got ${describe(value)}`);
  }
  return JSON.stringify(snakeKeys(value));
}

/** `{ POLL: 5 }` or `{ POLL: { perSecond: 5, burst: 10, retryAfter: '0' } }`, as JSON text. */
function rateLimitsJson(value) {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid('rateLimits', `must be an object like { POLL: 5 }, got ${describe(value)}`);
  }
  // Bucket names as given (any case); the limits' own keys to snake_case.
  return JSON.stringify(Object.fromEntries(Object.entries(value).map(([bucket, limit]) => [bucket, snakeKeys(limit)])));
}

function optInt(argument, value) {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw invalid(argument, `must be an integer, got ${describe(value)}`);
  }
  return value;
}

function nativeOptions(options) {
  const o = opts('options', options, START_OPTIONS);
  return {
    apiKey: o.apiKey === undefined ? undefined : secretStr('apiKey', o.apiKey),
    seed: optInt('seed', o.seed),
    codeDelayMs: optMs('codeDelayMs', o.codeDelayMs),
    codeDelaySpreadMs: optMs('codeDelaySpreadMs', o.codeDelaySpreadMs),
    orderTtlMs: optMs('orderTtlMs', o.orderTtlMs),
    balance: money('balance', o.balance),
    stock: optU32('stock', o.stock),
    faults: o.faults === undefined ? undefined : faultsJson('faults', o.faults),
    rateLimits: rateLimitsJson(o.rateLimits),
    requestLogLimit: optU32('requestLogLimit', o.requestLogLimit),
    host: o.host === undefined ? undefined : str('host', o.host),
    port: optU32('port', o.port),
  };
}

/**
 * A NexOTP sandbox running in this process: `await Sandbox.start(options)`, then the control
 * methods (all return Promises) and `close()` / `await using`.
 */
class Sandbox {
  #server;
  #info;

  /** Use `Sandbox.start()`. */
  constructor(token, server, info) {
    if (token !== kCreate) throw new TypeError('use `await Sandbox.start(options)` to make a Sandbox');
    this.#server = server;
    this.#info = info;
  }

  /**
   * Starts a sandbox on a loopback port. Options (all optional, the sandbox's defaults
   * otherwise): `apiKey` ('sk_test_sandbox'), `seed` (42), `codeDelayMs` (2000),
   * `codeDelaySpreadMs` (0), `orderTtlMs` (1200000), `balance` ('25.00'), `stock`, `faults`,
   * `rateLimits` ({ POLL: 5 } or { POLL: { perSecond, burst, retryAfter } }), `requestLogLimit`
   * (10000), `host` ('127.0.0.1'), `port` (0: any free port). `reset()` goes back to these.
   */
  static async start(options) {
    const server = call(() => new native.SandboxServer(nativeOptions(options)));
    const info = await submit((t) => server.start(dispatcher, t));
    return new Sandbox(kCreate, server, info);
  }

  /** The API base URL (`http://127.0.0.1:PORT/wp-json/nexotp/v1/`). */
  get baseUrl() {
    return this.#info.baseUrl;
  }

  /** The server's root (`http://127.0.0.1:PORT`); the console is at `/__sandbox/ui/`. */
  get rootUrl() {
    return this.#info.rootUrl;
  }

  /** The API key it accepts. */
  get apiKey() {
    return this.#info.apiKey;
  }

  /** The seed of its catalogue, numbers, codes and random faults. */
  get seed() {
    return this.#info.seed;
  }

  /** Whether `close()` was called. */
  get closed() {
    return !this.#server.running;
  }

  /** A `Client` pointed at this sandbox (other `Client` options may be given). */
  client(options) {
    if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
      throw invalid('options', `must be an object, got ${describe(options)}`);
    }
    return new Client({ apiKey: this.apiKey, ...options, baseUrl: this.baseUrl });
  }

  /** Stops the server and its tasks; idempotent. Nothing of it is left on the event loop. */
  async close() {
    await submit((t) => this.#server.close(dispatcher, t));
  }

  /** `await using sandbox = await Sandbox.start()` closes it at the end of the block. */
  [asyncDispose]() {
    return this.close();
  }

  /** Back to the start: the seeded world, the start faults and limits, empty logs, zero counters. */
  async reset() {
    call(() => this.#server.reset());
  }

  /** Sets the wallet balance (a decimal string like '10.00', or a number). */
  async setBalance(balance) {
    const text = money('balance', balance);
    if (text === undefined) throw invalid('balance', 'is required');
    call(() => this.#server.setBalance(text));
  }

  /** The wallet balance, a decimal string. */
  async balance() {
    return call(() => this.#server.balance());
  }

  /**
   * Replaces the injected faults, given in the sandbox's form (camelCase keys accepted):
   * `{ latencyMs, errorRate, dropRate, malformedRate, script: [...], random: [...] }`.
   * `setFaults()` clears them.
   */
  async setFaults(faults) {
    const text = faultsJson('faults', faults);
    call(() => this.#server.setFaults(text));
  }

  /** No faults any more. */
  async clearFaults() {
    call(() => this.#server.setFaults('{}'));
  }

  /** The faults in force, in the sandbox's JSON form (snake_case keys). */
  async faults() {
    return JSON.parse(call(() => this.#server.faults()));
  }

  /**
   * Sets the limit of bucket 'GENERAL', 'ORDER' or 'POLL' (`perSecond`; `null` removes it), with
   * an optional `{ burst, retryAfter }` (its 429s then carry that `Retry-After` verbatim).
   */
  async setRateLimit(bucket, perSecond, options) {
    str('bucket', bucket);
    if (perSecond !== null && typeof perSecond !== 'number') {
      throw invalid('perSecond', `must be a number or null, got ${describe(perSecond)}`);
    }
    const o = opts('options', options, ['burst', 'retryAfter']);
    const burst = optU32('burst', o.burst);
    const retryAfter = o.retryAfter === undefined ? undefined : str('retryAfter', o.retryAfter);
    call(() => this.#server.setRateLimit(bucket, perSecond ?? undefined, burst, retryAfter));
  }

  /** A bucket's limit (`{ per_second, burst, retry_after }`), or `null`. */
  async rateLimit(bucket) {
    str('bucket', bucket);
    return JSON.parse(call(() => this.#server.rateLimit(bucket)));
  }

  /** Delivers `code` to an order now (it becomes `received`). */
  async forceCode(orderId, code) {
    const order = id('orderId', orderId);
    str('code', code);
    call(() => this.#server.forceCode(order, code));
  }

  /** Expires an order now (refunded if it never received a code). */
  async expire(orderId) {
    const order = id('orderId', orderId);
    call(() => this.#server.expire(order));
  }

  /** Cancels a pending order now (refunded), without a key or a rate limit. */
  async cancel(orderId) {
    const order = id('orderId', orderId);
    call(() => this.#server.cancel(order));
  }

  /** Every order's id, oldest first. */
  async orderIds() {
    return call(() => this.#server.orderIds());
  }

  /** The API requests received so far, oldest first (the API key redacted). */
  async requests() {
    return call(() => this.#server.requests());
  }

  /** Forgets the request log. */
  async clearRequests() {
    call(() => this.#server.clearRequests());
  }

  /** The webhook deliveries so far. */
  async deliveries() {
    return call(() => this.#server.deliveries());
  }

  /** Sends a delivery again (same event, signed afresh) and returns the new one. */
  async replayDelivery(deliveryId) {
    const delivery = id('deliveryId', deliveryId);
    return call(() => this.#server.replayDelivery(delivery));
  }

  /** Counters (the sandbox's JSON form): requests per bucket, answers per status, faults, ... */
  async stats() {
    return JSON.parse(call(() => this.#server.stats()));
  }

  /** Sets the counters to zero. */
  async clearStats() {
    call(() => this.#server.clearStats());
  }

  /** Everything it holds (the sandbox's JSON form): balance, orders, webhooks, transactions. */
  async state() {
    return JSON.parse(call(() => this.#server.state()));
  }

  [util.inspect.custom]() {
    return `Sandbox { baseUrl: '${this.baseUrl}'${this.closed ? ', closed' : ''} }`;
  }
}

/** The native server and start info of each `Replay` / `Recording` (not reachable from outside). */
const served = new WeakMap();

function nativeOf(obj) {
  return served.get(obj).server;
}

/** What `Replay` and `Recording` share: a native server closed once, `await using` support. */
class Served {
  constructor(token, server, info) {
    if (token !== kCreate) throw new TypeError('use `await replay(path)` or `await record(options)`');
    served.set(this, { server, info });
  }

  /** The base URL to give a client. */
  get baseUrl() {
    return served.get(this).info.baseUrl;
  }

  /** Whether `close()` was called. */
  get closed() {
    return !nativeOf(this).running;
  }

  /** Stops it; idempotent. */
  async close() {
    await submit((t) => nativeOf(this).close(dispatcher, t));
  }

  [asyncDispose]() {
    return this.close();
  }

  [util.inspect.custom]() {
    return `${this.constructor.name} { baseUrl: '${this.baseUrl}'${this.closed ? ', closed' : ''} }`;
  }
}

/**
 * A recorded session served back offline (from `replay(path)`): a request is answered by the
 * recorded one with the same method, path, query and body (repeats in recorded order, then the
 * last again); one that matches nothing gets a 404 `replay_no_match` error naming the closest
 * recorded request. Any API key is accepted.
 */
class Replay extends Served {
  /** A key for the client (`'sk_test_replay'`; any key is accepted). */
  get apiKey() {
    return 'sk_test_replay';
  }

  /** A `Client` pointed at the replay. */
  client(options) {
    return clientFor(this, options, { apiKey: this.apiKey });
  }

  /** How many requests were answered from the recording. */
  async served() {
    return call(() => nativeOf(this).served());
  }

  /** How many recorded exchanges were never served. */
  async unused() {
    return call(() => nativeOf(this).unused());
  }

  /** The requests that matched nothing (`method`, `path`, `query`, `headers`, `body`), oldest first. */
  async unmatched() {
    return JSON.parse(call(() => nativeOf(this).unmatched()));
  }

  /** Starts again from the first recorded answer of every request. */
  async rewind() {
    call(() => nativeOf(this).rewind());
  }
}

/**
 * A record proxy (from `record({ upstream, out })`): point a client at `baseUrl` with the real
 * API key; every exchange is forwarded and written to `outPath` with the API key, webhook
 * secrets and phone numbers (consistently) redacted. `close()` writes the file one last time.
 */
class Recording extends Served {
  /** The traffic file it writes. */
  get outPath() {
    return served.get(this).info.outPath;
  }

  /** A `Client` pointed at the proxy (give the real `apiKey`, else `NEXOTP_API_KEY`). */
  client(options) {
    return clientFor(this, options, {});
  }

  /** How many exchanges were recorded so far. */
  async exchanges() {
    return call(() => nativeOf(this).exchanges());
  }

  /** The recording so far, redacted (the traffic file's content). */
  async traffic() {
    return JSON.parse(call(() => nativeOf(this).traffic()));
  }
}

function clientFor(server, options, defaults) {
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    throw invalid('options', `must be an object, got ${describe(options)}`);
  }
  return new Client({ ...defaults, ...options, baseUrl: server.baseUrl });
}

/** Serves the traffic file at `path` (written by `record`) on a loopback port. */
async function replay(path, options) {
  str('path', path);
  const o = opts('options', options, ['host', 'port']);
  const input = { path, host: o.host === undefined ? undefined : str('host', o.host), port: optU32('port', o.port) };
  const server = new native.ReplayServer();
  const info = await submit((t) => server.start(dispatcher, t, input));
  return new Replay(kCreate, server, info);
}

/**
 * Starts a proxy in front of `upstream` (the real API's base URL, `https://...`; `http://` only on
 * loopback) that writes every exchange to `out`, redacted. Options: `host`, `port`, `timeoutMs`
 * (one upstream exchange, default 120000), `caCertificatePem` (a CA to trust for the upstream).
 */
async function record(options) {
  const o = opts('options', options, ['upstream', 'out', 'host', 'port', 'timeoutMs', 'caCertificatePem']);
  const input = {
    upstream: str('upstream', o.upstream),
    out: str('out', o.out),
    host: o.host === undefined ? undefined : str('host', o.host),
    port: optU32('port', o.port),
    timeoutMs: optMs('timeoutMs', o.timeoutMs),
    caCertificatePem: o.caCertificatePem === undefined ? undefined : str('caCertificatePem', o.caCertificatePem),
  };
  const server = new native.RecordServer();
  const info = await submit((t) => server.start(dispatcher, t, input));
  return new Recording(kCreate, server, info);
}

if (typeof native.SandboxServer !== 'function') {
  // A build of the addon without the `sandbox` feature.
  Sandbox.start = async () => {
    throw new index.NexOTPError('this build of nexotp has no sandbox (built without the `sandbox` feature)');
  };
}

module.exports = { Sandbox, Replay, Recording, replay, record };
