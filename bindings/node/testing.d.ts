/// <reference types="node" />
/**
 * Types of `nexotp/testing`: a NexOTP sandbox running inside your Node process, for tests.
 *
 * ```js
 * const { Sandbox } = require('nexotp/testing'); // or: import { Sandbox } from 'nexotp/testing'
 * await using sandbox = await Sandbox.start();    // or: const sandbox = ...; await sandbox.close()
 * const client = sandbox.client();
 * const order = await client.createOrder({ service: 'svc_telegram', country: 'cty_us' });
 * await sandbox.forceCode(order.id, '123456');
 * ```
 *
 * The server is the `nexotp-sandbox` library compiled into the addon: no binary, no network, a
 * loopback port. Faults, rate limits, stats and state use the sandbox's documented JSON forms
 * (`spec/contract.md`, "Sandbox"); fault objects may also be written with camelCase keys.
 *
 * @packageDocumentation
 */

import type { Client, ClientOptions } from './index';
import type { SandboxDelivery, SandboxRequest } from './native';

export type { SandboxDelivery, SandboxRequest };

/** A rate bucket of the API. */
export type Bucket = 'GENERAL' | 'ORDER' | 'POLL';

/** One fault kind with its fields, e.g. `{ fault: 'status', status: 503 }` or `{ fault: 'drop' }`. */
export interface FaultSpec {
  /** `status`, `wp_internal_error`, `drop`, `drop_before_apply`, `malformed`, `truncate`, `html500`, `delay`, `slow_after_apply`, `instant_code`. */
  fault: string;
  /** Which requests: `"METHOD /path"` under the API prefix (`*` one segment, a final `**` the rest); absent: any. */
  match?: string;
  /** The other fields of the kind (`status`, `retry_after` / `retryAfter`, `ms`, `bytes`, `after_apply`, `envelope`, `code`, `body`, ...). */
  [field: string]: unknown;
}

/** Faults, in the sandbox's form (snake_case as below, or the same keys in camelCase). */
export interface Faults {
  /** Added to every API answer, in milliseconds. */
  latency_ms?: number;
  latencyMs?: number;
  /** Share (0..1) of requests answered 503 without being applied. */
  error_rate?: number;
  errorRate?: number;
  /** Share of requests applied and then left without an answer. */
  drop_rate?: number;
  dropRate?: number;
  /** Share of requests applied and answered with a cut-off JSON body. */
  malformed_rate?: number;
  malformedRate?: number;
  /** Faults for the next matching requests, consumed in order (`times` each, default 1). */
  script?: Array<FaultSpec & { times?: number }>;
  /** Faults drawn at random (seeded) by `rate`. */
  random?: Array<FaultSpec & { rate: number }>;
}

/** A bucket's limit: `perSecond` requests per second, `burst` at once, 429s with `retryAfter`. */
export interface RateLimitSpec {
  perSecond: number;
  burst?: number;
  retryAfter?: string;
}

/** Options of `Sandbox.start()`; every one optional. */
export interface SandboxOptions {
  /** The API key it accepts (default `'sk_test_sandbox'`). */
  apiKey?: string;
  /** Seed of the catalogue, phone numbers, codes and random faults (default 42). */
  seed?: number;
  /** Milliseconds from an order (or resend) to its code (default 2000). */
  codeDelayMs?: number;
  /** Up to this many milliseconds more per order, seeded (default 0). */
  codeDelaySpreadMs?: number;
  /** Milliseconds after which a pending order expires and is refunded (default 1200000). */
  orderTtlMs?: number;
  /** Starting balance (default `'25.00'`). */
  balance?: string | number;
  /** Numbers per pool. */
  stock?: number;
  /** Faults from the start (and after every `reset()`). */
  faults?: Faults;
  /** Rate limits from the start, e.g. `{ POLL: 5 }` or `{ ORDER: { perSecond: 1, burst: 1 } }`. */
  rateLimits?: Partial<Record<Bucket, number | RateLimitSpec>>;
  /** How many requests the log keeps (default 10000). */
  requestLogLimit?: number;
  /** Host to listen on (default `'127.0.0.1'`). */
  host?: string;
  /** Port (default 0: any free port). */
  port?: number;
}

/** A bucket's limit as the sandbox reports it. */
export interface RateLimitState {
  per_second: number;
  burst?: number;
  retry_after?: string;
}

/**
 * A NexOTP sandbox running in this process. Every method returns a Promise. It never keeps the
 * event loop alive; `close()` (or `await using`) stops it.
 */
export declare class Sandbox {
  private constructor();
  /** Starts a sandbox on a loopback port (well under a millisecond once the addon is loaded). */
  static start(options?: SandboxOptions): Promise<Sandbox>;
  /** The API base URL (`http://127.0.0.1:PORT/wp-json/nexotp/v1/`). */
  readonly baseUrl: string;
  /** The server's root (`http://127.0.0.1:PORT`); the console is at `/__sandbox/ui/`. */
  readonly rootUrl: string;
  /** The API key it accepts. */
  readonly apiKey: string;
  /** The seed it was started with. */
  readonly seed: number;
  /** Whether `close()` was called. */
  readonly closed: boolean;
  /** A `Client` pointed at this sandbox (other `Client` options may be given; `baseUrl` is the sandbox's). */
  client(options?: Omit<ClientOptions, 'baseUrl'>): Client;
  /** Stops the server and its tasks; idempotent. */
  close(): Promise<void>;
  /** `await using sandbox = await Sandbox.start()` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void>;
  /** Back to the start: the seeded world, the start faults and limits, empty logs, zero counters. */
  reset(): Promise<void>;
  /** Sets the wallet balance (an `adjustment` transaction). */
  setBalance(balance: string | number): Promise<void>;
  /** The wallet balance, a decimal string. */
  balance(): Promise<string>;
  /** Replaces the injected faults; `setFaults()` clears them. */
  setFaults(faults?: Faults): Promise<void>;
  /** No faults any more. */
  clearFaults(): Promise<void>;
  /** The faults in force (snake_case keys; scripted ones as consumed so far). */
  faults(): Promise<Faults>;
  /** Sets (or with `null` removes) a bucket's limit. */
  setRateLimit(bucket: Bucket, perSecond: number | null, options?: { burst?: number; retryAfter?: string }): Promise<void>;
  /** A bucket's limit, or `null`. */
  rateLimit(bucket: Bucket): Promise<RateLimitState | null>;
  /** Delivers `code` to an order now (it becomes `received`). */
  forceCode(orderId: string | number, code: string): Promise<void>;
  /** Expires an order now (refunded if it never received a code). */
  expire(orderId: string | number): Promise<void>;
  /** Cancels a pending order now (refunded). */
  cancel(orderId: string | number): Promise<void>;
  /** Every order's id, oldest first. */
  orderIds(): Promise<string[]>;
  /** The API requests received so far, oldest first (the API key redacted). */
  requests(): Promise<SandboxRequest[]>;
  /** Forgets the request log. */
  clearRequests(): Promise<void>;
  /** The webhook deliveries so far. */
  deliveries(): Promise<SandboxDelivery[]>;
  /** Sends a delivery again (same event, signed afresh) and returns the new one. */
  replayDelivery(deliveryId: string | number): Promise<SandboxDelivery>;
  /** Counters (the sandbox's `GET /__sandbox/stats` form). */
  stats(): Promise<Record<string, unknown>>;
  /** Sets the counters to zero. */
  clearStats(): Promise<void>;
  /** Balance, orders, webhooks (with secrets) and transactions (the sandbox's JSON form). */
  state(): Promise<Record<string, unknown>>;
}

/**
 * A recorded session served back offline (from `replay(path)`): a request is answered by the
 * recorded one with the same method, path, query and body (repeats in recorded order, then the
 * last again); one that matches nothing gets a 404 `replay_no_match` error (a `NotFoundError`)
 * naming the closest recorded request. Any API key is accepted.
 */
export declare class Replay {
  private constructor();
  /** The base URL to give a client. */
  readonly baseUrl: string;
  /** A key for the client (`'sk_test_replay'`; any key is accepted). */
  readonly apiKey: string;
  /** Whether `close()` was called. */
  readonly closed: boolean;
  /** A `Client` pointed at the replay. */
  client(options?: Omit<ClientOptions, 'baseUrl'>): Client;
  /** How many requests were answered from the recording. */
  served(): Promise<number>;
  /** How many recorded exchanges were never served. */
  unused(): Promise<number>;
  /** The requests that matched nothing, oldest first. */
  unmatched(): Promise<Array<{ method: string; path: string; query: string; headers: Record<string, string>; body: string }>>;
  /** Starts again from the first recorded answer of every request. */
  rewind(): Promise<void>;
  /** Stops serving; idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A record proxy (from `record({ upstream, out })`): every exchange through `baseUrl` is forwarded
 * to the real API and written to `outPath` with the API key, webhook secrets and phone numbers
 * (consistently) redacted. `close()` writes the file one last time.
 */
export declare class Recording {
  private constructor();
  /** The base URL to give a client (with the real API key). */
  readonly baseUrl: string;
  /** The traffic file it writes. */
  readonly outPath: string;
  /** Whether `close()` was called. */
  readonly closed: boolean;
  /** A `Client` pointed at the proxy (give the real `apiKey`, else `NEXOTP_API_KEY`). */
  client(options?: Omit<ClientOptions, 'baseUrl'>): Client;
  /** How many exchanges were recorded so far. */
  exchanges(): Promise<number>;
  /** The recording so far, redacted (the traffic file's content). */
  traffic(): Promise<{ format: string; exchanges: unknown[]; [key: string]: unknown }>;
  /** Stops the proxy and writes the file; idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Serves the traffic file at `path` (written by `record`) on a loopback port. */
export declare function replay(path: string, options?: { host?: string; port?: number }): Promise<Replay>;

/** Options of `record()`. */
export interface RecordOptions {
  /** The real API's base URL (`https://.../wp-json/nexotp/v1/`; `http://` only on loopback). */
  upstream: string;
  /** The traffic file to write (created or replaced). */
  out: string;
  /** Host to listen on (default `'127.0.0.1'`). */
  host?: string;
  /** Port (default 0: any free port). */
  port?: number;
  /** Time allowed for one upstream exchange, in milliseconds (default 120000). */
  timeoutMs?: number;
  /** A CA certificate (PEM) to trust for the upstream besides the built-in roots. */
  caCertificatePem?: string;
}

/** Starts a record proxy in front of `upstream` that writes every exchange to `out`, redacted. */
export declare function record(options: RecordOptions): Promise<Recording>;
