'use strict';
/**
 * The `nexotp` package: a Promise API over the native (Rust) client.
 *
 * This layer is deliberately small. It checks JS *types* (so `perPage: "10"` or `id: {}` is an
 * `InvalidArgumentError` naming the argument, before anything reaches the network), fills
 * `apiKey` / `baseUrl` / `NEXOTP_LOG` from `process.env`, maps native rejections to the error
 * classes of `errors.js`, and adds what only JS can do: `AbortSignal`, async iteration and
 * `util.inspect` redaction. Every value rule, retry and request lives in the Rust core.
 */

const util = require('node:util');
const native = require('./platform.js').loadNative();
const errors = require('./errors.js');

const { fromNative, fromPayload, InvalidArgumentError, AbortError, OrderOutcomeUnknownError } = errors;

/*
 * Async results. A native async method takes a *ticket* and returns at once; when its future
 * completes on the Rust runtime, the result comes back through one shared threadsafe function
 * (the `Dispatcher`, one per module instance, so one per worker thread) as a JSON batch
 * `[ticket, ok, value, ...]` holding everything that completed since the last batch. This is
 * much cheaper than napi's per-call promise machinery (see bindings/node/src/dispatch.rs). The
 * dispatcher only keeps the event loop alive while a call is pending.
 */
const settlers = new Map();
let lastTicket = 0;

function onBatch(text) {
  const batch = JSON.parse(text);
  for (let i = 0; i < batch.length; i += 3) {
    const settler = settlers.get(batch[i]);
    if (settler === undefined) continue;
    settlers.delete(batch[i]);
    if (batch[i + 1] === 1) settler.resolve(batch[i + 2]);
    else settler.reject(fromPayload(batch[i + 2]));
  }
}

const dispatcher = new native.Dispatcher(onBatch);

/** Starts a native call with a fresh ticket; the promise settles when its batch arrives. */
function submit(start) {
  return new Promise((resolve, reject) => {
    lastTicket = lastTicket >= 0x7fffffff ? 1 : lastTicket + 1;
    const ticket = lastTicket;
    settlers.set(ticket, { resolve, reject });
    try {
      start(ticket);
    } catch (e) {
      settlers.delete(ticket);
      reject(fromNative(e));
    }
  });
}

const kWrap = Symbol('nexotp.wrap');
const MAX_U32 = 0xffffffff;

function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${typeof value} ${String(value)}`;
  }
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** Only the type of a value that may be a secret (an API key, a webhook secret): never the value. */
function typeOf(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function invalid(argument, rule) {
  return new InvalidArgumentError(`invalid argument \`${argument}\`: ${rule}`, { argument, rule });
}

function str(argument, value) {
  if (typeof value !== 'string') throw invalid(argument, `must be a string, got ${describe(value)}`);
  return value;
}

/** A string that is a secret: a type mistake names the type only, never the value. */
function secretStr(argument, value) {
  if (typeof value !== 'string') throw invalid(argument, `must be a string, got ${typeOf(value)}`);
  return value;
}

function optStr(argument, value) {
  return value === undefined ? undefined : str(argument, value);
}

/** Ids are strings; a safe integer (the API's numeric ids) is accepted and stringified. */
function id(argument, value) {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  throw invalid(argument, `must be a string (or an integer id), got ${describe(value)}`);
}

function u32(argument, value) {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw invalid(argument, `must be an integer, got ${describe(value)}`);
  }
  if (value < 0 || value > MAX_U32) {
    throw invalid(argument, `must be a non-negative integer below 2^32, got ${value}`);
  }
  return value;
}

function optU32(argument, value) {
  return value === undefined ? undefined : u32(argument, value);
}

function optStrList(argument, value) {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw invalid(argument, `must be an array of strings, got ${describe(value)}`);
  return value.map((v, n) => str(`${argument}[${n}]`, v));
}

function num(argument, value) {
  if (typeof value !== 'number') throw invalid(argument, `must be a number, got ${describe(value)}`);
  return value;
}

/** Milliseconds: any number here; the core rejects NaN, infinities, negatives and > a year. */
function optMs(argument, value) {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw invalid(argument, `must be a number of milliseconds, got ${describe(value)}`);
  return value;
}

/** Seconds (`toleranceSec`): any number here; the core checks the value as for milliseconds. */
function optSeconds(argument, value) {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw invalid(argument, `must be a number of seconds, got ${describe(value)}`);
  return value;
}

/** `caCertificates`: PEM text or a file path (a string), or PEM bytes (a Buffer / Uint8Array). */
function caCertificates(value) {
  if (value === undefined) return {};
  if (typeof value === 'string') return { caCertificates: value };
  if (value instanceof Uint8Array) return { caCertificatesPem: Buffer.from(value).toString('latin1') };
  throw invalid('caCertificates', `must be PEM text, a file path or a Buffer, got ${describe(value)}`);
}

function optBool(argument, value) {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw invalid(argument, `must be a boolean, got ${describe(value)}`);
  return value;
}

/**
 * An options object: `undefined` or a plain object without unknown keys (a typo must not pass
 * silently). `secretive`: the value may be a secret put in the wrong place (`new Client(key)`),
 * so a mistake names its type only.
 */
function opts(argument, value, allowed, secretive = false) {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(argument, `must be an object, got ${secretive ? typeOf(value) : describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw invalid(argument, `unknown option \`${key}\` (expected ${allowed.join(', ')})`);
    }
  }
  return value;
}

/**
 * `maxPrice`: a decimal string (exact), or a finite number taken by its shortest decimal form
 * (`String(0.1)` is `"0.1"`, so `0.1` means exactly 0.10).
 */
function money(argument, value) {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(argument, `must be a finite number or a decimal string, got ${describe(value)}`);
    return String(value);
  }
  throw invalid(argument, `must be a decimal string like "0.50" (or a finite number), got ${describe(value)}`);
}

function pricingOption(value) {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw invalid('pricingOption', `must be "cheapest", "best_rate", 0 or 1, got ${describe(value)}`);
}

function events(value) {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    value.forEach((e, i) => {
      if (typeof e !== 'string') throw invalid('events', `entry ${i} must be a string, got ${describe(e)}`);
    });
    return value;
  }
  throw invalid('events', `must be an array of event names or a comma-separated string, got ${describe(value)}`);
}

function isAbortSignal(value) {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof value.aborted === 'boolean' &&
    typeof value.addEventListener === 'function' &&
    typeof value.removeEventListener === 'function'
  );
}

function abortError(signal, what = 'waitForCode') {
  return new AbortError(`${what} was aborted`, undefined, { cause: signal.reason });
}

const CALL_OPTIONS = ['signal', 'timeoutMs', 'maxRetries', 'deadlineMs'];

/**
 * The last `options` argument of every call: `{ signal, timeoutMs, maxRetries, deadlineMs }`.
 * Returns what `run` needs: request options for the core (or undefined) and the signal.
 */
function callOptions(options) {
  const o = opts('options', options, CALL_OPTIONS);
  if (o.signal !== undefined && !isAbortSignal(o.signal)) {
    throw invalid('signal', `must be an AbortSignal, got ${describe(o.signal)}`);
  }
  const request = {
    timeoutMs: optMs('timeoutMs', o.timeoutMs),
    maxRetries: optU32('maxRetries', o.maxRetries),
    deadlineMs: optMs('deadlineMs', o.deadlineMs),
  };
  const changed = request.timeoutMs !== undefined || request.maxRetries !== undefined || request.deadlineMs !== undefined;
  return { request: changed ? request : undefined, signal: o.signal };
}

/**
 * `nativeClient` as one call with `options` sees it: a sibling with other timeouts or retries
 * (same pool and buckets) when `request` is given, tied to a new abort handle when `signal` is.
 */
function callTarget(nativeClient, { request, signal }) {
  const target = request === undefined ? nativeClient : call(() => nativeClient.withOptions(request));
  if (signal === undefined) return { target, handle: undefined };
  const handle = new native.AbortHandle();
  return { target: target.withAbort(handle), handle };
}

/**
 * Runs one call on `nativeClient` with its per-call options: a sibling client with other
 * timeouts or retries (same pool and buckets), and an abort handle tied to `signal`. An abort
 * ends the call in the core at once wherever it is (bucket wait, backoff, in flight); the core
 * rejects with `AbortError`, or with `OrderOutcomeUnknownError` for a create order, resend or
 * create webhook that was already sent.
 */
async function run(nativeClient, what, options, start) {
  const { signal } = options;
  if (signal !== undefined && signal.aborted) throw abortError(signal, what);
  const { target, handle } = callTarget(nativeClient, options);
  if (handle === undefined) return submit((t) => start(target, t));
  const onAbort = () => handle.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await submit((t) => start(target, t));
  } catch (e) {
    if (e instanceof AbortError) throw abortError(signal, what);
    throw e;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function inspectWebhook(depth, options, inspect) {
  const shown = { ...this, secret: '[redacted]' };
  return `Webhook ${inspect(shown, { ...options, depth: options.depth == null ? null : options.depth - 1 })}`;
}

/**
 * The object `createWebhook` returns keeps `secret` readable (`hook.secret`), but the property is
 * not enumerable, so `JSON.stringify`, JSON loggers, `Object.keys` and `{ ...hook }` leave it
 * out; `util.inspect` (`console.log`) shows it as `[redacted]`, even with `showHidden`.
 */
function redactSecret(hook) {
  if (hook && hook.secret !== undefined) {
    Object.defineProperty(hook, 'secret', { value: hook.secret, enumerable: false, writable: true, configurable: true });
    Object.defineProperty(hook, util.inspect.custom, { value: inspectWebhook, enumerable: false });
  }
  return hook;
}

function call(fn) {
  try {
    return fn();
  } catch (e) {
    throw fromNative(e);
  }
}

/**
 * `rateLimits` in the core's text form: a string is passed as it is; an object maps a bucket to
 * a rate (requests per second) or `{ perSecond, burst }`. The core parses and checks it.
 */
function rateLimits(value) {
  if (value === undefined || value === null || typeof value === 'string') {
    return value ?? undefined;
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalid('rateLimits', 'must be a string like "POLL=20/s,burst=1" or an object like { POLL: 20, ORDER: { perSecond: 5, burst: 1 } }');
  }
  return Object.entries(value)
    .map(([bucket, limit]) => {
      if (typeof limit === 'number') return `${bucket}=${limit}`;
      if (limit && typeof limit === 'object' && typeof limit.perSecond === 'number') {
        return limit.burst === undefined
          ? `${bucket}=${limit.perSecond}`
          : `${bucket}=${limit.perSecond},burst=${limit.burst}`;
      }
      throw invalid(`rateLimits.${bucket}`, 'must be a number or { perSecond, burst }');
    })
    .join(';');
}

const CLIENT_OPTIONS = [
  'apiKey', 'baseUrl', 'timeoutMs', 'connectTimeoutMs', 'maxRetries', 'deadlineMs',
  'proxy', 'caCertificates', 'tlsRoots', 'http2', 'maxConnections', 'poolIdleTimeoutMs', 'maxIdleConnections',
  'rateLimitStore', 'rateLimits',
];
const REQUEST_OPTIONS = ['timeoutMs', 'maxRetries', 'deadlineMs'];
const ORDER_OPTIONS = ['service', 'country', 'pool', 'pricingOption', 'maxPrice'];
const WAIT_OPTIONS = ['timeoutMs', 'pollIntervalMs', 'cancelOnTimeout', 'signal', 'excludeCodes'];

class Client {
  #native;

  constructor(options, wrap) {
    if (wrap === kWrap) {
      this.#native = options;
      return;
    }
    const o = opts('options', options, CLIENT_OPTIONS, true);
    const env = process.env;
    // The environment's values go to the core, whose rules decide (a blank NEXOTP_BASE_URL
    // means production, as in Rust and Python).
    const config = {
      apiKey: o.apiKey === undefined ? undefined : secretStr('apiKey', o.apiKey),
      baseUrl: optStr('baseUrl', o.baseUrl),
      envApiKey: env.NEXOTP_API_KEY,
      envBaseUrl: env.NEXOTP_BASE_URL,
      timeoutMs: optMs('timeoutMs', o.timeoutMs),
      connectTimeoutMs: optMs('connectTimeoutMs', o.connectTimeoutMs),
      maxRetries: optU32('maxRetries', o.maxRetries),
      deadlineMs: optMs('deadlineMs', o.deadlineMs),
      // May carry a password: a type mistake names the type only.
      proxy: o.proxy === undefined ? undefined : secretStr('proxy', o.proxy),
      ...caCertificates(o.caCertificates),
      tlsRoots: optStr('tlsRoots', o.tlsRoots),
      http2: optBool('http2', o.http2),
      maxConnections: optU32('maxConnections', o.maxConnections),
      poolIdleTimeoutMs: optMs('poolIdleTimeoutMs', o.poolIdleTimeoutMs),
      maxIdleConnections: optU32('maxIdleConnections', o.maxIdleConnections),
      // May carry a password: a type mistake names the type only.
      rateLimitStore: o.rateLimitStore === undefined ? undefined : secretStr('rateLimitStore', o.rateLimitStore),
      rateLimits: rateLimits(o.rateLimits),
      runtime: `Node.js ${process.version}`,
      logLevel: env.NEXOTP_LOG,
    };
    this.#native = call(() => new native.Client(config, dispatcher));
  }

  get baseUrl() {
    return this.#native.baseUrl;
  }

  get timeoutMs() {
    return this.#native.timeoutMs;
  }

  get maxRetries() {
    return this.#native.maxRetries;
  }

  get deadlineMs() {
    const ms = this.#native.deadlineMs;
    return ms === null ? undefined : ms;
  }

  withOptions(options) {
    const o = opts('options', options, REQUEST_OPTIONS);
    const request = {
      timeoutMs: optMs('timeoutMs', o.timeoutMs),
      maxRetries: optU32('maxRetries', o.maxRetries),
      deadlineMs: optMs('deadlineMs', o.deadlineMs),
    };
    return new Client(call(() => this.#native.withOptions(request)), kWrap);
  }

  async account(options) {
    return run(this.#native, 'account', callOptions(options), (n, t) => n.account(t));
  }

  async transactions(query, options) {
    const o = opts('options', query, ['page', 'perPage']);
    // Absent values stay undefined: the core's defaults apply (page 1, DEFAULT_PAGE_SIZE).
    const page = optU32('page', o.page);
    const perPage = optU32('perPage', o.perPage);
    return run(this.#native, 'transactions', callOptions(options), (n, t) => n.transactions(t, page, perPage));
  }

  iterTransactions(query, options) {
    const o = opts('options', query, ['perPage']);
    const perPage = optU32('perPage', o.perPage); // absent: the core's DEFAULT_ITER_PAGE_SIZE
    const perCall = callOptions(options);
    const { signal } = perCall;
    if (signal !== undefined && signal.aborted) throw abortError(signal, 'iterTransactions');
    const { target, handle } = callTarget(this.#native, perCall);
    const pager = call(() => target.transactionPager(perPage));
    return (async function* transactions() {
      const onAbort = () => handle.abort();
      if (signal !== undefined) signal.addEventListener('abort', onAbort, { once: true });
      try {
        for (;;) {
          let page;
          try {
            page = await submit((t) => pager.nextPage(t));
          } catch (e) {
            if (signal !== undefined && e instanceof AbortError) throw abortError(signal, 'iterTransactions');
            throw e;
          }
          if (page === null) return;
          yield* page.items;
        }
      } finally {
        if (signal !== undefined) signal.removeEventListener('abort', onAbort);
      }
    })();
  }

  async countries(options) {
    return run(this.#native, 'countries', callOptions(options), (n, t) => n.countries(t));
  }

  async services(country, options) {
    const c = str('country', country);
    return run(this.#native, 'services', callOptions(options), (n, t) => n.services(t, c));
  }

  async price(service, country, options) {
    const s = str('service', service);
    const c = str('country', country);
    return run(this.#native, 'price', callOptions(options), (n, t) => n.price(t, s, c));
  }

  async createOrder(request, options) {
    if (request === undefined) throw invalid('request', 'is required: { service, country, ... }');
    const o = opts('request', request, ORDER_OPTIONS);
    const input = {
      service: str('service', o.service),
      country: str('country', o.country),
      pool: optStr('pool', o.pool),
      pricingOption: pricingOption(o.pricingOption),
      maxPrice: money('maxPrice', o.maxPrice),
    };
    return run(this.#native, 'createOrder', callOptions(options), (n, t) => n.createOrder(t, input));
  }

  async getOrder(orderId, options) {
    const i = id('id', orderId);
    return run(this.#native, 'getOrder', callOptions(options), (n, t) => n.getOrder(t, i));
  }

  async cancelOrder(orderId, options) {
    const i = id('id', orderId);
    return run(this.#native, 'cancelOrder', callOptions(options), (n, t) => n.cancelOrder(t, i));
  }

  async resendOrder(orderId, options) {
    const i = id('id', orderId);
    return run(this.#native, 'resendOrder', callOptions(options), (n, t) => n.resendOrder(t, i));
  }

  /**
   * `wait` holds how to wait (its `timeoutMs` is the whole wait's); `options`, as on every
   * call, sets each poll's `timeoutMs`, `maxRetries` and `deadlineMs`, and may carry the
   * `signal` instead of `wait`.
   */
  async waitForCode(orderId, wait, options) {
    const i = id('id', orderId);
    const o = opts('options', wait, WAIT_OPTIONS);
    const perCall = callOptions(options);
    if (o.signal !== undefined && perCall.signal !== undefined) {
      throw invalid('signal', 'give it once, in the wait options or in the call options');
    }
    const signal = o.signal !== undefined ? o.signal : perCall.signal;
    if (signal !== undefined && !isAbortSignal(signal)) {
      throw invalid('signal', `must be an AbortSignal, got ${describe(signal)}`);
    }
    const input = waitInput(o);
    if (signal && signal.aborted) throw abortError(signal);
    // A wait is stopped by its own handle (`cancel`), not by an abort handle.
    const { target } = callTarget(this.#native, { request: perCall.request });
    const handle = call(() => target.waitHandle(i, input));
    if (!signal) {
      return submit((t) => handle.run(t));
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        handle.cancel();
        reject(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      submit((t) => handle.run(t)).then(
        (order) => {
          signal.removeEventListener('abort', onAbort);
          resolve(order);
        },
        (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
    });
  }

  /**
   * One watcher for many orders: `add` them (now or while iterating), then
   * `for await (const event of watcher)`. See `Watcher`.
   */
  watch() {
    return new Watcher(call(() => this.#native.watch()), kWrap);
  }

  async webhooks(options) {
    return run(this.#native, 'webhooks', callOptions(options), (n, t) => n.webhooks(t));
  }

  async createWebhook(request, options) {
    if (request === undefined) throw invalid('request', 'is required: { endpointUrl, events }');
    const o = opts('request', request, ['endpointUrl', 'events']);
    const url = str('endpointUrl', o.endpointUrl);
    const ev = events(o.events);
    const hook = await run(this.#native, 'createWebhook', callOptions(options), (n, t) => n.createWebhook(t, url, ev));
    return redactSecret(hook);
  }

  async deleteWebhook(webhookId, options) {
    const i = id('id', webhookId);
    return run(this.#native, 'deleteWebhook', callOptions(options), (n, t) => n.deleteWebhook(t, i));
  }

  /**
   * Whether the call behind an `OrderOutcomeUnknownError` took effect. The error's own
   * properties are what the core reads back, so a rebuilt error reconciles too.
   */
  async reconcile(err, options) {
    if (!(err instanceof OrderOutcomeUnknownError)) {
      const got = err instanceof Error ? `a ${err.name}` : describe(err);
      throw invalid('err', `must be the OrderOutcomeUnknownError to reconcile, got ${got}`);
    }
    const sent = {
      operation: str('err.operation', err.operation),
      service: optStr('err.service', err.service),
      country: optStr('err.country', err.country),
      pool: optStr('err.pool', err.pool),
      maxPrice: optStr('err.maxPrice', err.maxPrice),
      orderId: optStr('err.orderId', err.orderId),
      codesBefore: optStrList('err.codesBefore', err.codesBefore),
      statusBefore: optStr('err.statusBefore', err.statusBefore),
      endpointUrl: optStr('err.endpointUrl', err.endpointUrl),
      events: optStrList('err.events', err.events),
      sentAtMs: num('err.sentAtMs', err.sentAtMs),
      failedAtMs: num('err.failedAtMs', err.failedAtMs),
    };
    return run(this.#native, 'reconcile', callOptions(options), (n, t) => n.reconcile(t, sent));
  }

  [util.inspect.custom](depth, options, inspect) {
    const shown = { baseUrl: this.baseUrl, timeoutMs: this.timeoutMs, maxRetries: this.maxRetries, deadlineMs: this.deadlineMs, apiKey: '[redacted]' };
    return `Client ${inspect(shown, options)}`;
  }

  toJSON() {
    return { baseUrl: this.baseUrl, timeoutMs: this.timeoutMs, maxRetries: this.maxRetries, deadlineMs: this.deadlineMs };
  }
}

const WATCH_OPTIONS = ['timeoutMs', 'pollIntervalMs', 'cancelOnTimeout', 'excludeCodes'];

/** `waitForCode`'s options without `signal`, type-checked. */
function waitInput(o) {
  let excludeCodes;
  if (o.excludeCodes !== undefined) {
    if (!Array.isArray(o.excludeCodes)) throw invalid('excludeCodes', `must be an array of strings, got ${describe(o.excludeCodes)}`);
    excludeCodes = o.excludeCodes.map((c, n) => str(`excludeCodes[${n}]`, c));
  }
  return {
    timeoutMs: optMs('timeoutMs', o.timeoutMs),
    pollIntervalMs: optMs('pollIntervalMs', o.pollIntervalMs),
    cancelOnTimeout: optBool('cancelOnTimeout', o.cancelOnTimeout),
    excludeCodes,
  };
}

/**
 * Follows many orders in one polling loop (the core's watcher): an async iterator of events,
 * one per new code and one per order whose watch ends. It polls only while iterated, and a
 * pending `next()` keeps the process alive like any pending call; `close()` (or leaving a
 * `for await` loop, which calls `return()`) ends the iteration and releases everything.
 */
class Watcher {
  #native;

  constructor(nativeWatcher, wrap) {
    if (wrap !== kWrap) throw new TypeError('use client.watch()');
    this.#native = nativeWatcher;
  }

  add(orderId, options) {
    const i = id('id', orderId);
    const input = waitInput(opts('options', options, WATCH_OPTIONS));
    call(() => this.#native.add(i, input));
    return this;
  }

  remove(orderId) {
    const i = id('id', orderId);
    return this.#native.remove(i);
  }

  feed(event) {
    if (event === null || typeof event !== 'object' || event.raw === null || typeof event.raw !== 'object') {
      throw invalid('event', `must be a WebhookEvent returned by verifyWebhook, got ${describe(event)}`);
    }
    const body = JSON.stringify(event.raw);
    return call(() => this.#native.feed(body));
  }

  close() {
    this.#native.close();
  }

  get closed() {
    return this.#native.closed;
  }

  get size() {
    return this.#native.size;
  }

  async next() {
    const event = await submit((t) => this.#native.next(t));
    if (event === null) return { value: undefined, done: true };
    if (event.error !== undefined) event.error = fromPayload(event.error);
    return { value: event, done: false };
  }

  async return() {
    this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  [util.inspect.custom](depth, options, inspect) {
    return `Watcher ${inspect({ size: this.size, closed: this.closed }, options)}`;
  }
}

function payloadBuffer(value) {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  throw invalid('payload', `must be the raw body as a Buffer, Uint8Array or string, got ${describe(value)}`);
}

function verifyWebhook(payload, signature, secret, options) {
  const body = payloadBuffer(payload);
  let header = signature;
  if (Array.isArray(header)) header = header.join(',');
  // Absent (`req.headers[...]` of a delivery without one): the core's rule makes it a
  // WebhookVerificationError, as in every language.
  if (header === null) header = undefined;
  optStr('signature', header);
  secretStr('secret', secret);
  const o = opts('options', options, ['toleranceSec']);
  const tolerance = optSeconds('toleranceSec', o.toleranceSec);
  return call(() => native.verifyWebhook(body, header, secret, tolerance));
}

function signWebhook(payload, secret, options) {
  const body = payloadBuffer(payload);
  secretStr('secret', secret);
  const o = opts('options', options, ['timestamp']);
  if (o.timestamp !== undefined && (typeof o.timestamp !== 'number' || !Number.isSafeInteger(o.timestamp))) {
    throw invalid('timestamp', `must be an integer number of unix seconds, got ${describe(o.timestamp)}`);
  }
  // Without a timestamp the core signs with its own clock (`nexotp::webhook::sign_now`).
  return call(() => native.signWebhook(body, secret, o.timestamp));
}

/** The header NexOTP signs deliveries with (lower-case, as Node's `req.headers` has it). */
const SIGNATURE_HEADER = 'x-nexotp-signature';

module.exports = {
  Client,
  Watcher,
  verifyWebhook,
  signWebhook,
  SIGNATURE_HEADER,
  VERSION: native.version(),
  ...errors,
};
delete module.exports.fromNative;
delete module.exports.fromPayload;

// What `nexotp/testing` (testing.js) shares with this module: the one addon, dispatcher and set
// of argument checks, so its errors are these classes. Hidden from `Object.keys` and the types.
Object.defineProperty(module.exports, Symbol.for('nexotp.internal'), {
  enumerable: false,
  value: { native, dispatcher, submit, call, invalid, describe, opts, str, secretStr, id, money, optMs, optU32 },
});

// Test hooks, hidden from `Object.keys` and the types: a Rust panic must become a NexOTPError.
// The addon has them only when built with the `test-hooks` feature (never when published).
if (typeof native._debugPanic === 'function') {
  Object.defineProperty(module.exports, '_debugPanic', {
    enumerable: false,
    value: async (message) => submit((t) => native._debugPanic(dispatcher, t, String(message))),
  });
  Object.defineProperty(module.exports, '_debugPanicSync', {
    enumerable: false,
    value: (message) => call(() => native._debugPanicSync(String(message))),
  });
}
