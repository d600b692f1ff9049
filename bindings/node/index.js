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
const native = require('./native.js');
const errors = require('./errors.js');

const { fromNative, InvalidArgumentError, AbortError } = errors;

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

function invalid(argument, rule) {
  return new InvalidArgumentError(`invalid argument \`${argument}\`: ${rule}`, { argument, rule });
}

function str(argument, value) {
  if (typeof value !== 'string') throw invalid(argument, `must be a string, got ${describe(value)}`);
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

/** Milliseconds: any number here; the native side rejects NaN, infinities and negatives. */
function optMs(argument, value) {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw invalid(argument, `must be a number of milliseconds, got ${describe(value)}`);
  return value;
}

function optBool(argument, value) {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw invalid(argument, `must be a boolean, got ${describe(value)}`);
  return value;
}

/** An options object: `undefined` or a plain object without unknown keys (a typo must not pass silently). */
function opts(argument, value, allowed) {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(argument, `must be an object, got ${describe(value)}`);
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

function abortError(signal) {
  return new AbortError('waitForCode was aborted', undefined, { cause: signal.reason });
}

function inspectWebhook(depth, options, inspect) {
  const shown = { ...this, secret: '[redacted]' };
  return `Webhook ${inspect(shown, { ...options, depth: options.depth == null ? null : options.depth - 1 })}`;
}

/** The object `createWebhook` returns keeps `secret` readable; `util.inspect` shows it redacted. */
function redactSecret(hook) {
  if (hook && hook.secret !== undefined) {
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

const CLIENT_OPTIONS = ['apiKey', 'baseUrl', 'timeoutMs', 'connectTimeoutMs', 'maxRetries'];
const ORDER_OPTIONS = ['service', 'country', 'pool', 'pricingOption', 'maxPrice'];
const WAIT_OPTIONS = ['timeoutMs', 'pollIntervalMs', 'cancelOnTimeout', 'signal', 'excludeCodes'];

class Client {
  #native;

  constructor(options, wrap) {
    if (wrap === kWrap) {
      this.#native = options;
      return;
    }
    const o = opts('options', options, CLIENT_OPTIONS);
    const env = process.env;
    const apiKey = o.apiKey !== undefined ? str('apiKey', o.apiKey) : env.NEXOTP_API_KEY;
    const baseUrl = o.baseUrl !== undefined ? str('baseUrl', o.baseUrl) : env.NEXOTP_BASE_URL || undefined;
    const config = {
      apiKey,
      baseUrl,
      timeoutMs: optMs('timeoutMs', o.timeoutMs),
      connectTimeoutMs: optMs('connectTimeoutMs', o.connectTimeoutMs),
      maxRetries: optU32('maxRetries', o.maxRetries),
      runtime: `Node.js ${process.version}`,
      logLevel: env.NEXOTP_LOG,
    };
    this.#native = call(() => new native.Client(config));
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

  withOptions(options) {
    const o = opts('options', options, ['timeoutMs', 'maxRetries']);
    const request = { timeoutMs: optMs('timeoutMs', o.timeoutMs), maxRetries: optU32('maxRetries', o.maxRetries) };
    return new Client(call(() => this.#native.withOptions(request)), kWrap);
  }

  async account() {
    try {
      return await this.#native.account();
    } catch (e) {
      throw fromNative(e);
    }
  }

  async transactions(options) {
    const o = opts('options', options, ['page', 'perPage']);
    const page = o.page === undefined ? 1 : u32('page', o.page);
    const perPage = o.perPage === undefined ? 20 : u32('perPage', o.perPage);
    try {
      return await this.#native.transactions(page, perPage);
    } catch (e) {
      throw fromNative(e);
    }
  }

  iterTransactions(options) {
    const o = opts('options', options, ['perPage']);
    const perPage = o.perPage === undefined ? 100 : u32('perPage', o.perPage);
    const pager = call(() => this.#native.transactionPager(perPage));
    return (async function* transactions() {
      for (;;) {
        let page;
        try {
          page = await pager.nextPage();
        } catch (e) {
          throw fromNative(e);
        }
        if (page === null) return;
        yield* page.items;
      }
    })();
  }

  async countries() {
    try {
      return await this.#native.countries();
    } catch (e) {
      throw fromNative(e);
    }
  }

  async services(country) {
    const c = str('country', country);
    try {
      return await this.#native.services(c);
    } catch (e) {
      throw fromNative(e);
    }
  }

  async price(service, country) {
    const s = str('service', service);
    const c = str('country', country);
    try {
      return await this.#native.price(s, c);
    } catch (e) {
      throw fromNative(e);
    }
  }

  async createOrder(request) {
    if (request === undefined) throw invalid('request', 'is required: { service, country, ... }');
    const o = opts('request', request, ORDER_OPTIONS);
    const input = {
      service: str('service', o.service),
      country: str('country', o.country),
      pool: optStr('pool', o.pool),
      pricingOption: pricingOption(o.pricingOption),
      maxPrice: money('maxPrice', o.maxPrice),
    };
    try {
      return await this.#native.createOrder(input);
    } catch (e) {
      throw fromNative(e);
    }
  }

  async getOrder(orderId) {
    const i = id('id', orderId);
    try {
      return await this.#native.getOrder(i);
    } catch (e) {
      throw fromNative(e);
    }
  }

  async cancelOrder(orderId) {
    const i = id('id', orderId);
    try {
      return await this.#native.cancelOrder(i);
    } catch (e) {
      throw fromNative(e);
    }
  }

  async resendOrder(orderId) {
    const i = id('id', orderId);
    try {
      return await this.#native.resendOrder(i);
    } catch (e) {
      throw fromNative(e);
    }
  }

  async waitForCode(orderId, options) {
    const i = id('id', orderId);
    const o = opts('options', options, WAIT_OPTIONS);
    const signal = o.signal;
    if (signal !== undefined && !isAbortSignal(signal)) {
      throw invalid('signal', `must be an AbortSignal, got ${describe(signal)}`);
    }
    let excludeCodes;
    if (o.excludeCodes !== undefined) {
      if (!Array.isArray(o.excludeCodes)) throw invalid('excludeCodes', `must be an array of strings, got ${describe(o.excludeCodes)}`);
      excludeCodes = o.excludeCodes.map((c, n) => str(`excludeCodes[${n}]`, c));
    }
    const input = {
      timeoutMs: optMs('timeoutMs', o.timeoutMs),
      pollIntervalMs: optMs('pollIntervalMs', o.pollIntervalMs),
      cancelOnTimeout: optBool('cancelOnTimeout', o.cancelOnTimeout),
      excludeCodes,
    };
    if (signal && signal.aborted) throw abortError(signal);
    const handle = call(() => this.#native.waitHandle(i, input));
    if (!signal) {
      try {
        return await handle.run();
      } catch (e) {
        throw fromNative(e);
      }
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        handle.cancel();
        reject(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      handle.run().then(
        (order) => {
          signal.removeEventListener('abort', onAbort);
          resolve(order);
        },
        (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(fromNative(e));
        },
      );
    });
  }

  async webhooks() {
    try {
      return await this.#native.webhooks();
    } catch (e) {
      throw fromNative(e);
    }
  }

  async createWebhook(request) {
    if (request === undefined) throw invalid('request', 'is required: { endpointUrl, events }');
    const o = opts('request', request, ['endpointUrl', 'events']);
    const url = str('endpointUrl', o.endpointUrl);
    const ev = events(o.events);
    try {
      return redactSecret(await this.#native.createWebhook(url, ev));
    } catch (e) {
      throw fromNative(e);
    }
  }

  async deleteWebhook(webhookId) {
    const i = id('id', webhookId);
    try {
      return await this.#native.deleteWebhook(i);
    } catch (e) {
      throw fromNative(e);
    }
  }

  [util.inspect.custom](depth, options, inspect) {
    const shown = { baseUrl: this.baseUrl, timeoutMs: this.timeoutMs, maxRetries: this.maxRetries, apiKey: '[redacted]' };
    return `Client ${inspect(shown, options)}`;
  }

  toJSON() {
    return { baseUrl: this.baseUrl, timeoutMs: this.timeoutMs, maxRetries: this.maxRetries };
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
  if (header === undefined || header === null) header = '';
  str('signature', header);
  str('secret', secret);
  const o = opts('options', options, ['toleranceSec']);
  const tolerance = optMs('toleranceSec', o.toleranceSec);
  return call(() => native.verifyWebhook(body, header, secret, tolerance));
}

function signWebhook(payload, secret, options) {
  const body = payloadBuffer(payload);
  str('secret', secret);
  const o = opts('options', options, ['timestamp']);
  let timestamp = Math.floor(Date.now() / 1000);
  if (o.timestamp !== undefined) {
    if (typeof o.timestamp !== 'number' || !Number.isSafeInteger(o.timestamp)) {
      throw invalid('timestamp', `must be an integer number of unix seconds, got ${describe(o.timestamp)}`);
    }
    timestamp = o.timestamp;
  }
  return call(() => native.signWebhook(body, secret, timestamp));
}

/** The header NexOTP signs deliveries with (lower-case, as Node's `req.headers` has it). */
const SIGNATURE_HEADER = 'x-nexotp-signature';

module.exports = {
  Client,
  verifyWebhook,
  signWebhook,
  SIGNATURE_HEADER,
  VERSION: native.version(),
  ...errors,
};
delete module.exports.fromNative;

// Test hooks, hidden from `Object.keys` and the types: a Rust panic must become a NexOTPError.
Object.defineProperty(module.exports, '_debugPanic', {
  enumerable: false,
  value: async (message) => {
    try {
      return await native._debugPanic(String(message));
    } catch (e) {
      throw fromNative(e);
    }
  },
});
Object.defineProperty(module.exports, '_debugPanicSync', {
  enumerable: false,
  value: (message) => call(() => native._debugPanicSync(String(message))),
});
