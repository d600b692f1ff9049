/// <reference types="node" />
/**
 * Types of the `nexotp` package: a Promise API over a native (Rust) client for the NexOTP REST
 * API (virtual phone numbers that receive one-time codes).
 *
 * The model interfaces (`Order`, `Account`, ...) are generated from the native addon
 * (`native.d.ts`) and re-exported here; the client, options, webhook helpers and error classes
 * below are the hand-written JS layer (`index.js`, `errors.js`).
 *
 * Conventions: models are plain objects with camelCase keys; money is always a decimal string
 * (`"1.40"`), never a float; ids are strings; durations are milliseconds (`timeoutMs`) except
 * `toleranceSec`; absent values are `undefined`; `raw` holds the decoded JSON object as the API
 * sent it.
 *
 * Numbers inside `raw` come from `JSON.parse`, so they are binary floats (`raw.price` may be
 * `1.1`, which is not exactly 1.10, and large integers lose precision); the typed money fields
 * (`balance`, `price`, `amount`, ...) are exact decimal strings parsed by the native core. Use
 * the typed fields for arithmetic on money, and `raw` only for fields the SDK does not model.
 *
 * @packageDocumentation
 */

import type {
  Account,
  Country,
  Order as NativeOrder,
  Pool,
  Price,
  Reconciliation,
  Service,
  Transaction,
  TransactionPage,
  Webhook,
  WebhookDeleted,
  WebhookEvent,
} from './native';

export type {
  Account,
  Country,
  Pool,
  Price,
  Reconciliation,
  Service,
  Transaction,
  TransactionPage,
  Webhook,
  WebhookDeleted,
  WebhookEvent,
};

/** Order statuses this SDK knows (DESIGN §8); any other status string is passed through. */
export type KnownOrderStatus = 'pending' | 'received' | 'completed' | 'cancelled' | 'expired';

/**
 * An order. `status` is one of {@link KnownOrderStatus}, or another status string as the
 * server sent it (kept, never rejected).
 */
export type Order = Omit<NativeOrder, 'status'> & { status: KnownOrderStatus | (string & {}) };

/**
 * The last argument of every call: an `AbortSignal` and this call's own timeout and retries
 * (the same pool and rate buckets). Aborting rejects at once with {@link AbortError} wherever
 * the call is (a paused bucket, a backoff, in flight) and sends nothing more; a createOrder,
 * resendOrder or createWebhook already sent rejects with {@link OrderOutcomeUnknownError}
 * instead, as it may have taken effect.
 */
export interface CallOptions extends RequestOptions {
  /** Aborts the call. */
  signal?: AbortSignal;
}

/** Webhook event names NexOTP sends (the SDK accepts any non-empty name without spaces or commas). */
export type KnownWebhookEvent =
  | 'order.created'
  | 'order.code_received'
  | 'order.completed'
  | 'order.cancelled'
  | 'order.expired';

/** The three rate buckets the client tracks separately. */
export type RateBucket = 'GENERAL' | 'ORDER' | 'POLL';

/** Options of `new Client(...)`. Every field is optional. */
export interface ClientOptions {
  /** The API key. Default: `process.env.NEXOTP_API_KEY`; missing → `InvalidArgumentError` at construction. */
  apiKey?: string;
  /**
   * The API base URL. Default: `process.env.NEXOTP_BASE_URL`, else production
   * (`https://visualtrinitystudio.xyz/wp-json/nexotp/v1/`). Must be https unless the host is
   * loopback (the sandbox).
   */
  baseUrl?: string;
  /** Time allowed for one attempt (connect, send, read the whole answer), in ms. Default 30000. */
  timeoutMs?: number;
  /** Time allowed to open a connection, in ms. Default 10000. */
  connectTimeoutMs?: number;
  /** Retries after the first attempt, for the calls that may be retried (DESIGN §8). Default 2. */
  maxRetries?: number;
  /**
   * Time allowed for a whole call, in ms: every attempt, backoff and 429 wait. Default: none
   * (each attempt has `timeoutMs`, and retries are bounded by `maxRetries`). When it passes,
   * the call fails with the error the core gives (`APITimeoutError`, or the last `ServerError`
   * when no further retry fits).
   */
  deadlineMs?: number;
  /**
   * A proxy for every request: `http://host:port` or `https://host:port`, credentials allowed
   * (`http://user:pass@host:port`, percent-encoded); HTTPS goes through it with `CONNECT`. The
   * password never appears in errors or logs. Without it, `HTTPS_PROXY` / `NO_PROXY` are
   * honoured (never for a loopback base URL).
   */
  proxy?: string;
  /**
   * Extra CA certificates to trust (e.g. a company proxy's root): PEM text or a PEM file's
   * path (a string holding `-----BEGIN` is PEM), or PEM bytes.
   */
  caCertificates?: string | Uint8Array;
  /** Which built-in roots are trusted: the bundled Mozilla roots (default), the system's, or both. */
  tlsRoots?: 'bundled' | 'system' | 'both';
  /** Offer HTTP/2 (by ALPN over TLS; HTTP/1.1 when the server does not take it). Default true; false forces HTTP/1.1. */
  http2?: boolean;
  /** Most requests in flight to the API's host (so HTTP/1.1 connections); more calls queue. 1–4096, default 32. */
  maxConnections?: number;
  /** How long an idle connection stays in the pool, in ms. Default 60000. */
  poolIdleTimeoutMs?: number;
  /** Most idle connections kept. Default `maxConnections`. */
  maxIdleConnections?: number;
  /**
   * Where the rate buckets live. `'redis://[:password@]host:6379/0'` (or `rediss://` for TLS)
   * shares them with every process using the same API key, in any language, so a fleet of
   * workers stays inside the key's limits together. Default: `NEXOTP_RATE_LIMIT_STORE`, else
   * this process. When Redis is down or slow, calls use this process's buckets (logged once per
   * outage) and never fail because of it. The password never appears in errors or logs.
   */
  rateLimitStore?: string;
  /**
   * Client-side limits per bucket, shared through `rateLimitStore`: `'POLL=20/s,burst=1; ORDER=5'`
   * or `{ POLL: 20, ORDER: { perSecond: 5, burst: 1 } }`. Calls over a limit wait for their slot
   * instead of collecting 429s. Default: `NEXOTP_RATE_LIMITS`, else none.
   */
  rateLimits?: string | Partial<Record<RateBucket, number | { perSecond: number; burst?: number }>>;
}

/** Options of `client.withOptions(...)`. */
export interface RequestOptions {
  /** Time allowed for one attempt, in ms. */
  timeoutMs?: number;
  /** Retries after the first attempt. */
  maxRetries?: number;
  /** Time allowed for a whole call (every attempt, backoff and 429 wait), in ms. */
  deadlineMs?: number;
}

/** What `client.reconcile(err)` answers in `outcome`. */
export type ReconcileOutcome = 'applied' | 'notApplied' | 'ambiguous';

/** The operation an {@link OrderOutcomeUnknownError} describes (the client method called). */
export type UnknownOutcomeOperation = 'createOrder' | 'resendOrder' | 'createWebhook';

/** Options of `client.transactions(...)`. */
export interface TransactionsOptions {
  /** Page number, from 1. Default 1. */
  page?: number;
  /** Page size, 1–100. Default 20. */
  perPage?: number;
}

/** Options of `client.iterTransactions(...)`. */
export interface IterTransactionsOptions {
  /** Page size used while iterating, 1–100. Default 100. */
  perPage?: number;
}

/** How the server picks a pool: by name or by wire value (0 = cheapest, 1 = best rate). */
export type PricingOption = 'cheapest' | 'best_rate' | 0 | 1;

/** What `client.createOrder(...)` orders. */
export interface CreateOrderRequest {
  /** Service id, e.g. `"svc_telegram"` (see `services()`). */
  service: string;
  /** Country code, e.g. `"cty_us"` (see `countries()`). */
  country: string;
  /** A specific pool (see `price().pools`). */
  pool?: string;
  /** How to pick a pool when none is named. Sent only when given. */
  pricingOption?: PricingOption;
  /**
   * Refuse to pay more than this. A decimal string (`"0.50"`) is exact. A finite number is
   * accepted too and taken by its shortest decimal form (`String(x)`: `0.1` means exactly
   * `0.10`); `NaN` and infinities are `InvalidArgumentError`.
   */
  maxPrice?: string | number;
}

/** Options of `client.waitForCode(...)`. */
export interface WaitForCodeOptions {
  /** Give up after this many ms (`WaitTimeoutError`). Default 300000. */
  timeoutMs?: number;
  /** Time between polls, in ms. Default 3000. */
  pollIntervalMs?: number;
  /** On timeout, cancel the order to recover the money before rejecting. Default false. */
  cancelOnTimeout?: boolean;
  /** Aborting stops polling at once and rejects with `AbortError` (the order is not cancelled). */
  signal?: AbortSignal;
  /** Codes that do not count (codes seen before a resend by this client are skipped anyway). */
  excludeCodes?: string[];
}

/** Options of `watcher.add(...)`: those of `waitForCode`, per order, without `signal`. */
export interface WatchOptions {
  /** Stop following the order after this many ms (a `'timedOut'` event). Default 300000. */
  timeoutMs?: number;
  /**
   * Time before the first poll, in ms, and the start of the order's poll interval, which grows
   * by half after every poll that finds nothing new (up to 30 s). Default 3000.
   */
  pollIntervalMs?: number;
  /** On timeout, cancel the order to recover the money (the event's `cancelled` says so). */
  cancelOnTimeout?: boolean;
  /** Codes that do not count (codes seen before a resend by this client are skipped anyway). */
  excludeCodes?: string[];
}

/** What happened to a watched order. */
export type WatchEventKind = 'code' | 'completed' | 'cancelled' | 'expired' | 'timedOut' | 'failed';

/**
 * One event of a {@link Watcher}: a new code, or the end of an order's watch. Each order added
 * yields exactly one event, after which it is no longer followed.
 */
export interface WatchEvent {
  /** `'code'` (a code not seen before: `code` and `order` have it), or how the watch ended. */
  kind: WatchEventKind;
  /** The order it is about. */
  orderId: string;
  /** The order as last seen (always there for `'code'`). */
  order?: Order;
  /** The new code, for `'code'`. */
  code?: string;
  /** For `'timedOut'`: whether `cancelOnTimeout` cancelled the order. */
  cancelled: boolean;
  /** For `'failed'` (the order cannot be polled: not found, bad key): why. */
  error?: NexOTPError;
  /** Whether a fed webhook delivery, rather than a poll, brought it. */
  fromWebhook: boolean;
}

/**
 * Follows many orders in one polling loop: polls take turns fairly, go through the client's
 * rate buckets (so they stay inside the POLL budget, shared through the client's rate-limit
 * store), and an order that keeps answering "nothing yet" is polled less and less often. Use it
 * as an async iterator; add and remove orders at any time, even while iterating. It polls only
 * while iterated; `close()` (or leaving a `for await` loop) ends it and keeps nothing alive.
 *
 * @example
 * const watcher = client.watch();
 * for (const id of orderIds) watcher.add(id, { timeoutMs: 600_000, cancelOnTimeout: true });
 * for await (const event of watcher) {
 *   if (event.kind === 'code') console.log(event.orderId, event.code);
 *   else console.log(event.orderId, 'ended:', event.kind);
 *   if (watcher.size === 0) break; // leaving the loop closes the watcher
 * }
 */
export declare class Watcher implements AsyncIterableIterator<WatchEvent> {
  private constructor();
  /**
   * Follows order `id` until its first new code, its end, or `timeoutMs`. Codes it had before
   * this client resent it, and codes this watcher already gave for it, do not count. Adding an
   * order already followed restarts its watch. Throws {@link InvalidArgumentError} on a bad id
   * or option, or once closed. Returns the watcher.
   */
  add(id: string | number, options?: WatchOptions): this;
  /** Stops following order `id` (no event comes for it); whether it was followed. */
  remove(id: string | number): boolean;
  /**
   * Feeds a delivery verified with {@link verifyWebhook}: a new code or the order's end becomes
   * its event at once and the order is not polled again; any other delivery about a followed
   * order makes its polls a rare fallback (every 2 min). Returns whether it was about a
   * followed order (a delivery for an order not added yet is kept for when it is).
   */
  feed(event: WebhookEvent): boolean;
  /** Stops the watcher: nothing more is polled, and iteration ends. Idempotent. */
  close(): void;
  /** Whether `close()` was called. */
  readonly closed: boolean;
  /** How many orders are followed. */
  readonly size: number;
  /** The next event; `done` once closed. */
  next(): Promise<IteratorResult<WatchEvent, undefined>>;
  /** Closes the watcher (called when a `for await` loop is left). */
  return(): Promise<IteratorResult<WatchEvent, undefined>>;
  [Symbol.asyncIterator](): this;
}

/** What `client.createWebhook(...)` registers. */
export interface CreateWebhookRequest {
  /** Where deliveries go: https (http only for localhost / loopback receivers). */
  endpointUrl: string;
  /** Event names, as a list or a comma-separated string. */
  events: Array<KnownWebhookEvent | (string & {})> | string;
}

/** A raw webhook body: the exact bytes received (a string is taken as UTF-8). */
export type WebhookPayload = string | Buffer | Uint8Array | ArrayBuffer;

/** Options of `verifyWebhook(...)`. */
export interface VerifyWebhookOptions {
  /** Allowed distance between the signature's timestamp and now, in seconds. Default 300. */
  toleranceSec?: number;
}

/** Options of `signWebhook(...)`. */
export interface SignWebhookOptions {
  /** The signature's timestamp in unix seconds. Default: now. */
  timestamp?: number;
}

/**
 * A NexOTP API client. One client holds one connection pool and one set of rate buckets shared
 * by all its concurrent calls; create it once and reuse it. Every API method returns a Promise
 * and rejects with a subclass of {@link NexOTPError}; bad arguments reject with
 * {@link InvalidArgumentError} before any request is sent. `util.inspect(client)` never shows
 * the key.
 *
 * @example
 * const { Client } = require('nexotp');
 * const client = new Client({ apiKey: process.env.NEXOTP_API_KEY });
 * const order = await client.createOrder({ service: 'svc_telegram', country: 'cty_us' });
 * const done = await client.waitForCode(order.id, { timeoutMs: 120_000, cancelOnTimeout: true });
 * console.log(done.code);
 */
export declare class Client {
  /**
   * Creates a client. Throws {@link InvalidArgumentError} at once when the key is missing or a
   * setting is invalid (a plain-http base URL that is not loopback, a zero timeout, ...).
   */
  constructor(options?: ClientOptions);
  /** The base URL in use (always ending in `/`). */
  readonly baseUrl: string;
  /** Time allowed for one attempt, in ms. */
  readonly timeoutMs: number;
  /** Retries after the first attempt. */
  readonly maxRetries: number;
  /** Time allowed for a whole call, in ms; `undefined` when there is none. */
  readonly deadlineMs: number | undefined;
  /**
   * A client with another timeout, retry count or deadline that shares this one's key,
   * connection pool and rate buckets.
   */
  withOptions(options: RequestOptions): Client;
  /** `GET /account`: balance (a decimal string), currency, plan and usage. */
  account(options?: CallOptions): Promise<Account>;
  /** `GET /account/transactions`: one page (`page` from 1, `perPage` 1–100, default 20). */
  transactions(query?: TransactionsOptions, options?: CallOptions): Promise<TransactionPage>;
  /**
   * Every transaction, as an async iterable that fetches one page when the previous one is used
   * up (nothing is fetched before the first `next()`). A bad `perPage` throws at once.
   *
   * @example
   * for await (const t of client.iterTransactions({ perPage: 50 })) console.log(t.amount);
   */
  iterTransactions(query?: IterTransactionsOptions, options?: CallOptions): AsyncGenerator<Transaction, void, undefined>;
  /** `GET /countries`. */
  countries(options?: CallOptions): Promise<Country[]>;
  /** `GET /services?country=`: the services offered in a country, with prices and stock. */
  services(country: string, options?: CallOptions): Promise<Service[]>;
  /** `GET /price?service=&country=`: the current price and its pools. */
  price(service: string, country: string, options?: CallOptions): Promise<Price>;
  /**
   * `POST /order`: rents a number. Never sent twice: when the answer is lost after sending,
   * rejects with {@link OrderOutcomeUnknownError}; pass it to {@link Client.reconcile}.
   */
  createOrder(request: CreateOrderRequest, options?: CallOptions): Promise<Order>;
  /** `GET /order/{id}` (POLL bucket). A safe-integer id is accepted and stringified. */
  getOrder(id: string | number, options?: CallOptions): Promise<Order>;
  /** `POST /order/{id}/cancel`: cancels a pending order and refunds it. Safe to retry. */
  cancelOrder(id: string | number, options?: CallOptions): Promise<Order>;
  /**
   * `POST /order/{id}/resend`: asks for another code on the same number; a later
   * `waitForCode` returns only a code the order did not have yet.
   */
  resendOrder(id: string | number, options?: CallOptions): Promise<Order>;
  /**
   * Polls the order until it has a new code (resolves with the order), the order ends without
   * one ({@link OrderClosedError}), the time is up ({@link WaitTimeoutError}, after cancelling
   * the order when `cancelOnTimeout` is set) or `signal` aborts ({@link AbortError}, at once).
   */
  /** `options`: each poll's `timeoutMs`, `maxRetries`, `deadlineMs` (and the `signal`, given here or in `wait`). */
  waitForCode(id: string | number, wait?: WaitForCodeOptions, options?: CallOptions): Promise<Order>;
  /**
   * One watcher for many orders (see {@link Watcher}): one event per new code and one per order
   * whose watch ends, inside the POLL budget, webhooks optionally fed in.
   */
  watch(): Watcher;
  /** `GET /webhooks`. */
  webhooks(options?: CallOptions): Promise<Webhook[]>;
  /**
   * `POST /webhooks`: registers an endpoint. The result's `secret` is returned this once: store
   * it. It is readable (`hook.secret`) but not enumerable, so `JSON.stringify`, JSON loggers,
   * `Object.keys` and `{ ...hook }` leave it out, and `util.inspect` / `console.log` show it
   * redacted.
   */
  createWebhook(request: CreateWebhookRequest, options?: CallOptions): Promise<Webhook>;
  /** `DELETE /webhooks/{id}`. Safe to retry. */
  deleteWebhook(id: string | number, options?: CallOptions): Promise<WebhookDeleted>;
  /**
   * Finds out whether the call behind an {@link OrderOutcomeUnknownError} took effect: from the
   * ledger (createOrder), the webhook list (createWebhook) or the order (resendOrder).
   * `outcome` is `'applied'` (with `order` or `webhook`), `'notApplied'` (sending the call again
   * is safe) or `'ambiguous'` (several candidates in `orders` / `webhooks`: decide by hand).
   * Anything but an `OrderOutcomeUnknownError` rejects with {@link InvalidArgumentError} before
   * any request.
   *
   * @example
   * try {
   *   order = await client.createOrder(request);
   * } catch (err) {
   *   if (!(err instanceof OrderOutcomeUnknownError)) throw err;
   *   const found = await client.reconcile(err);
   *   if (found.outcome === 'applied') order = found.order!;
   *   else if (found.outcome === 'notApplied') order = await client.createOrder(request);
   *   else throw err; // ambiguous: decide by hand
   * }
   */
  reconcile(err: OrderOutcomeUnknownError, options?: CallOptions): Promise<Reconciliation>;
}

/**
 * Verifies a webhook delivery and returns the event. `payload` must be the raw request body
 * exactly as received (not re-serialized JSON); `signature` is the `X-NexOTP-Signature` header
 * (`req.headers['x-nexotp-signature']`; `undefined` is reported as a missing header).
 *
 * @throws {WebhookVerificationError} when the signature, timestamp or body does not check out.
 */
export declare function verifyWebhook(
  payload: WebhookPayload,
  signature: string | string[] | undefined | null,
  secret: string,
  options?: VerifyWebhookOptions,
): WebhookEvent;

/**
 * Signs `payload` the way NexOTP does and returns the header value `t=<unix>,v1=<hex>`: for
 * testing your own webhook handler.
 */
export declare function signWebhook(payload: WebhookPayload, secret: string, options?: SignWebhookOptions): string;

/** The signature header's name as Node's `req.headers` spells it: `'x-nexotp-signature'`. */
export declare const SIGNATURE_HEADER: 'x-nexotp-signature';

/** The SDK version. */
export declare const VERSION: string;

/**
 * Base class of every error the package throws (`instanceof NexOTPError` catches them all). A
 * panic inside the native addon also arrives as a plain `NexOTPError`.
 *
 * Which native error kind becomes which class: `InvalidArgument` → {@link InvalidArgumentError};
 * `Api` → {@link APIError} and its subclasses by status / code (401, 403, 404, 400/422,
 * 402 or `insufficient_balance`, 409, 429, 5xx); `Connection` → {@link APIConnectionError};
 * `Timeout` → {@link APITimeoutError}; `OrderOutcomeUnknown` → {@link OrderOutcomeUnknownError};
 * `UnexpectedResponse` → {@link UnexpectedResponseError}; `WaitTimeout` →
 * {@link WaitTimeoutError}; `OrderClosed` → {@link OrderClosedError}; `WebhookVerification` →
 * {@link WebhookVerificationError}; an aborted wait → {@link AbortError}.
 */
export declare class NexOTPError extends Error {
  constructor(message?: string, fields?: Record<string, unknown>, options?: ErrorOptions);
  /**
   * Whether sending the same call again is safe and may succeed: a connection error, a timeout,
   * a 408 / 429 / 5xx of a GET, cancel or webhook delete. Always `false` for createOrder,
   * resendOrder and createWebhook (reconcile an {@link OrderOutcomeUnknownError} instead), and
   * for errors that will not heal.
   */
  readonly retryable: boolean;
  /** The HTTP status, when the error came from a response (`APIError`s, some others). */
  readonly status?: number;
  /** The API's error code (`"order_not_cancellable"`, `"rest_forbidden"`, ...), when given. */
  readonly code?: string;
  /** The request id (the body's `meta.request_id` or the `X-Request-Id` header), when known. */
  readonly requestId?: string;
  /** How long the server asked to wait before retrying, in ms, when it said. */
  readonly retryAfterMs?: number;
}

/** A bad argument, caught before any request was sent. */
export declare class InvalidArgumentError extends NexOTPError {
  /** The argument's name as you spell it in JS (`perPage`, `maxPrice`, `id`, ...). */
  readonly argument: string;
  /** The rule it broke. */
  readonly rule: string;
}

/** The server answered with an error. */
export declare class APIError extends NexOTPError {
  /** HTTP status. */
  readonly status: number;
  /** The API's error code (`"order_not_cancellable"`, `"rest_forbidden"`, ...), when given. */
  readonly code?: string;
  /** The request id (from the body's `meta.request_id` or the `X-Request-Id` header). */
  readonly requestId?: string;
  /** How long the server asked to wait before retrying, in ms (429, sometimes 503). */
  readonly retryAfterMs?: number;
  /** The error's `details` (or WordPress's `data`). */
  readonly details?: unknown;
  /** Per-parameter messages of a WordPress validation error (param → message). */
  readonly params?: Record<string, string>;
  /** The decoded error body. */
  readonly body?: unknown;
}

/** 401: a missing or wrong API key. */
export declare class AuthenticationError extends APIError {}
/** 403. */
export declare class PermissionDeniedError extends APIError {}
/** 404: an unknown order, webhook or route. */
export declare class NotFoundError extends APIError {}
/** 400 / 422: the server refused a parameter (see `params`). */
export declare class InvalidRequestError extends APIError {}
/** 402 / `insufficient_balance`: top up the wallet. */
export declare class InsufficientBalanceError extends APIError {}
/** 409: `no_numbers_available`, `max_price_exceeded`, `order_not_cancellable`, `resend_not_supported`, ... */
export declare class ConflictError extends APIError {}
/** 429: rate limited. The client already waited and retried up to `maxRetries`. */
export declare class RateLimitError extends APIError {
  /** The rate bucket of the call. */
  readonly bucket?: RateBucket;
}
/** 5xx. */
export declare class ServerError extends APIError {}

/** No usable answer: connection refused or reset, TLS failure, a body cut off. */
export declare class APIConnectionError extends NexOTPError {}

/** An attempt's timeout (`timeoutMs`) or the call's deadline (`deadlineMs`) passed. */
export declare class APITimeoutError extends APIConnectionError {}

/**
 * A non-idempotent call (createOrder, resendOrder, createWebhook) failed after it may have
 * reached the server. It was not re-sent, to avoid a duplicate, and is never `retryable`: pass
 * it to {@link Client.reconcile} to find out whether it took effect. Its properties are plain
 * data describing what was sent (all that `reconcile` reads).
 */
export declare class OrderOutcomeUnknownError extends APIConnectionError {
  /** The call. */
  readonly operation: UnknownOutcomeOperation;
  /** The ordered service (createOrder). */
  readonly service?: string;
  /** The ordered country (createOrder). */
  readonly country?: string;
  /** The pool asked for (createOrder). */
  readonly pool?: string;
  /** The price limit sent (createOrder), a decimal string. */
  readonly maxPrice?: string;
  /** The order id (resendOrder). */
  readonly orderId?: string;
  /** The order's codes before the resend was sent, oldest first (resendOrder; else empty). */
  readonly codesBefore: string[];
  /** The order's status before the resend was sent (resendOrder). */
  readonly statusBefore?: KnownOrderStatus | (string & {});
  /** The endpoint registered (createWebhook). */
  readonly endpointUrl?: string;
  /** The events subscribed (createWebhook; else empty). */
  readonly events: string[];
  /** When the first attempt was sent, unix ms (this machine's clock). */
  readonly sentAtMs: number;
  /** When the call gave up, unix ms (this machine's clock). */
  readonly failedAtMs: number;
  /** The HTTP status, when an answer that does not say "refused" came back (an HTML 500, a 502). */
  readonly status?: number;
}

/** A body that is not the contract (not JSON, not an envelope, missing fields). */
export declare class UnexpectedResponseError extends NexOTPError {
  /** HTTP status of the response. */
  readonly status: number;
  /** The first bytes of the body, for diagnosis. */
  readonly snippet: string;
  /** The request id, when the response had one. */
  readonly requestId?: string;
}

/** `waitForCode` ran out of time. */
export declare class WaitTimeoutError extends NexOTPError {
  /** The order waited for. */
  readonly orderId: string;
  /**
   * The last state of the order seen (after the cancel, when one was made); `undefined` when no
   * poll succeeded.
   */
  readonly order?: Order;
  /** How long the wait lasted, in ms. */
  readonly waitedMs: number;
  /** Whether the order was cancelled because of the timeout (`cancelOnTimeout`). */
  readonly cancelled: boolean;
}

/** The order ended (cancelled, expired, completed) without a new code. */
export declare class OrderClosedError extends NexOTPError {
  /** The final state of the order. */
  readonly order: Order;
}

/** A webhook delivery did not verify; the message names the usual mistake. */
export declare class WebhookVerificationError extends NexOTPError {}

/** `waitForCode` was aborted through its `AbortSignal`; `cause` is the signal's reason. */
export declare class AbortError extends NexOTPError {
  /** Always `'ABORT_ERR'`, like Node's own AbortError. */
  readonly code: 'ABORT_ERR';
}
