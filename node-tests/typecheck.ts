// Compiled with `tsc --noEmit --strict` (see scripts/test-node): uses every public call of the
// package, so a wrong or missing type in index.d.ts fails the build. Never executed.

import {
  Client,
  verifyWebhook,
  signWebhook,
  SIGNATURE_HEADER,
  VERSION,
  NexOTPError,
  InvalidArgumentError,
  APIError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  InvalidRequestError,
  InsufficientBalanceError,
  ConflictError,
  RateLimitError,
  ServerError,
  APIConnectionError,
  APITimeoutError,
  OrderOutcomeUnknownError,
  UnexpectedResponseError,
  WaitTimeoutError,
  OrderClosedError,
  WebhookVerificationError,
  AbortError,
  Watcher,
} from 'nexotp';
import { Sandbox, replay, record } from 'nexotp/testing';
import type { Faults, Recording, Replay, SandboxDelivery, SandboxOptions, SandboxRequest } from 'nexotp/testing';
import type {
  Account,
  Country,
  Order,
  Pool,
  Price,
  Service,
  Transaction,
  TransactionPage,
  Webhook,
  WebhookDeleted,
  WebhookEvent,
  ClientOptions,
  CreateOrderRequest,
  WaitForCodeOptions,
  CallOptions,
  KnownOrderStatus,
  RateBucket,
  Reconciliation,
  ReconcileOutcome,
  RequestOptions,
  UnknownOutcomeOperation,
  WatchOptions,
  WatchEvent,
  WatchEventKind,
} from 'nexotp';
import * as http from 'node:http';

async function everyCall(): Promise<void> {
  const options: ClientOptions = { apiKey: 'sk_test', baseUrl: 'http://127.0.0.1:1/', timeoutMs: 5000, connectTimeoutMs: 1000, maxRetries: 1, deadlineMs: 20_000 };
  const client = new Client(options);
  const fromEnv = new Client();
  const fleet: ClientOptions = {
    rateLimitStore: 'redis://127.0.0.1:6379/0',
    rateLimits: { POLL: { perSecond: 20, burst: 1 }, ORDER: 5 },
  };
  const textLimits: ClientOptions = { rateLimits: 'POLL=20/s,burst=1; ORDER=5/s' };
  void [fleet, textLimits];
  const perCall: RequestOptions = { timeoutMs: 1000, maxRetries: 0, deadlineMs: 3000 };
  const quick: Client = client.withOptions(perCall);
  const base: string = client.baseUrl + fromEnv.baseUrl;
  const limits: number = quick.timeoutMs + quick.maxRetries;
  const whole: number | undefined = quick.deadlineMs;
  void whole;

  const account: Account = await client.account();
  const balance: string = account.balance;
  const usage: Record<string, unknown> = account.usage;

  const page: TransactionPage = await client.transactions({ page: 1, perPage: 20 });
  const more: boolean = page.hasMore;
  const total: number | undefined = page.total;
  await client.transactions();
  for await (const t of client.iterTransactions({ perPage: 50 })) {
    const tx: Transaction = t;
    const amount: string = tx.amount;
    const kind: string | undefined = tx.type;
    void amount;
    void kind;
  }
  for await (const t of client.iterTransactions()) void t.id;

  const countries: Country[] = await client.countries();
  const code: string = countries[0].code;
  const services: Service[] = await client.services(code);
  const servicePrice: string | undefined = services[0].price;
  const price: Price = await client.price('svc_telegram', 'cty_us');
  const pools: Pool[] = price.pools;
  const poolPrice: string | undefined = pools[0]?.price;

  const request: CreateOrderRequest = { service: 'svc_telegram', country: 'cty_us', pool: 'pool_a', pricingOption: 'best_rate', maxPrice: '1.50' };
  const order: Order = await client.createOrder(request);
  await client.createOrder({ service: 's', country: 'c', pricingOption: 1, maxPrice: 0.5 });
  const got: Order = await client.getOrder(order.id);
  await client.getOrder(5001);
  const cancelled: Order = await client.cancelOrder(order.id);
  const resent: Order = await client.resendOrder(order.id);
  const status: KnownOrderStatus | string = got.status;
  const codes: string[] = resent.codes;

  const controller = new AbortController();
  const waitOptions: WaitForCodeOptions = {
    timeoutMs: 60_000,
    pollIntervalMs: 1000,
    cancelOnTimeout: true,
    signal: controller.signal,
    excludeCodes: ['123456'],
  };
  const done: Order = await client.waitForCode(order.id, waitOptions);
  const maybeCode: string | undefined = done.code;
  await client.waitForCode(order.id);
  await client.waitForCode(order.id, { signal: AbortSignal.timeout(1000) });
  // Per-call options, last on every call.
  const callOpts: CallOptions = { signal: controller.signal, timeoutMs: 5000, maxRetries: 0, deadlineMs: 20_000 };
  await client.account(callOpts);
  await client.transactions({ page: 2 }, { maxRetries: 1 });
  await client.createOrder(request, { signal: AbortSignal.timeout(5000) });
  await client.waitForCode(order.id, { timeoutMs: 60_000 }, { timeoutMs: 2000 });
  // Statuses narrow to the known union; others stay strings.
  if (got.status === 'cancelled') void got.refund;
  const anyStatus: string = got.status;
  void anyStatus;

  const hooks: Webhook[] = await client.webhooks();
  const hook: Webhook = await client.createWebhook({ endpointUrl: 'https://example.com/h', events: ['order.created', 'custom.event'] });
  await client.createWebhook({ endpointUrl: 'https://example.com/h', events: 'order.created,order.expired' });
  const secret: string | undefined = hook.secret;
  const deleted: WebhookDeleted = await client.deleteWebhook(hook.id);
  const ok: boolean = deleted.deleted;

  const header: string = signWebhook('{"id":"evt_1","type":"order.created","data":{}}', 'whsec', { timestamp: 1700000000 });
  signWebhook(Buffer.from('{}'), 'whsec');
  const event: WebhookEvent = verifyWebhook(Buffer.from('{}'), header, 'whsec', { toleranceSec: 300 });
  verifyWebhook(new Uint8Array(2), undefined, 'whsec');
  const eventOrder: Order | undefined = event.order;
  const eventType: string = event.type;
  const data: unknown = event.data;

  http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const e = verifyWebhook(Buffer.concat(chunks), req.headers[SIGNATURE_HEADER], secret ?? '');
        res.end(e.id);
      } catch (err) {
        if (err instanceof WebhookVerificationError) res.writeHead(400).end(err.message);
      }
    });
  });

  void [base, limits, balance, usage, more, total, servicePrice, poolPrice, cancelled, status, codes, maybeCode, hooks, ok, eventOrder, eventType, data, VERSION];
}

async function errors(client: Client): Promise<void> {
  try {
    await client.getOrder('5001');
  } catch (err) {
    if (err instanceof NexOTPError) {
      const fields: [number | undefined, string | undefined, string | undefined, number | undefined] = [
        err.status, err.code, err.requestId, err.retryAfterMs,
      ];
      void fields;
    }
    if (err instanceof InvalidArgumentError) {
      const name: string = err.argument + err.rule;
      void name;
    } else if (err instanceof RateLimitError) {
      const wait: number | undefined = err.retryAfterMs;
      const bucket: RateBucket | undefined = err.bucket;
      void [wait, bucket];
    } else if (err instanceof APIError) {
      const s: number = err.status;
      const c: string | undefined = err.code;
      const r: string | undefined = err.requestId;
      void [s, c, r, err.details, err.params, err.body, err.message];
      void [
        err instanceof AuthenticationError,
        err instanceof PermissionDeniedError,
        err instanceof NotFoundError,
        err instanceof InvalidRequestError,
        err instanceof InsufficientBalanceError,
        err instanceof ConflictError,
        err instanceof ServerError,
      ];
    } else if (err instanceof OrderOutcomeUnknownError) {
      const op: UnknownOutcomeOperation = err.operation;
      const sent: number = err.sentAtMs + err.failedAtMs;
      const lists: string[] = [...err.codesBefore, ...err.events];
      const price: string | undefined = err.maxPrice;
      const retryable: boolean = err.retryable;
      void [op, sent, lists, price, retryable, err.service, err.country, err.pool, err.orderId, err.statusBefore, err.endpointUrl];
      const found: Reconciliation = await client.reconcile(err);
      const outcome: ReconcileOutcome = found.outcome;
      if (found.outcome === 'applied') {
        const made: Order | undefined = found.order;
        const hook: Webhook | undefined = found.webhook;
        void [made, hook];
      }
      const candidates: Order[] = found.orders;
      const hooks: Webhook[] = found.webhooks;
      void [outcome, candidates, hooks];
    } else if (err instanceof APITimeoutError || err instanceof APIConnectionError) {
      void err.message;
    } else if (err instanceof UnexpectedResponseError) {
      const st: number = err.status;
      void [st, err.snippet, err.requestId];
    } else if (err instanceof WaitTimeoutError) {
      const last: Order | undefined = err.order;
      const id: string = err.orderId;
      void [last, id, err.waitedMs, err.cancelled];
    } else if (err instanceof OrderClosedError) {
      const final: Order = err.order;
      void final;
    } else if (err instanceof AbortError) {
      const c: 'ABORT_ERR' = err.code;
      void [c, err.cause];
    } else if (err instanceof NexOTPError) {
      void err.name;
    }
  }
  const mine = new NexOTPError('m');
  const e: Error = mine;
  void e;
}

async function watching(client: Client, event: WebhookEvent): Promise<void> {
  const watcher: Watcher = client.watch();
  const options: WatchOptions = { timeoutMs: 60_000, pollIntervalMs: 2000, cancelOnTimeout: true, excludeCodes: ['1'] };
  watcher.add('5001', options).add(5002);
  const removed: boolean = watcher.remove('5002');
  const fed: boolean = watcher.feed(event);
  const size: number = watcher.size;
  for await (const e of watcher) {
    const ev: WatchEvent = e;
    const kind: WatchEventKind = ev.kind;
    const code: string | undefined = ev.code;
    const order: Order | undefined = ev.order;
    const error: NexOTPError | undefined = ev.error;
    void [kind, code, order, error, ev.orderId, ev.cancelled, ev.fromWebhook];
  }
  const step: IteratorResult<WatchEvent, undefined> = await watcher.next();
  watcher.close();
  const closed: boolean = watcher.closed;
  void [removed, fed, size, step, closed];
}

async function testingKit(): Promise<void> {
  const options: SandboxOptions = {
    apiKey: 'sk_test_x', seed: 7, codeDelayMs: 100, orderTtlMs: 60_000, balance: '5.00', stock: 3,
    faults: { errorRate: 0.1, script: [{ match: 'POST /order', fault: 'drop', times: 1 }] },
    rateLimits: { POLL: 5, ORDER: { perSecond: 1, burst: 1, retryAfter: '0' } },
    requestLogLimit: 100, host: '127.0.0.1', port: 0,
  };
  await using sandbox = await Sandbox.start(options);
  const client: Client = sandbox.client({ maxRetries: 0 });
  const url: string = sandbox.baseUrl;
  const key: string = sandbox.apiKey;
  const order = await client.createOrder({ service: 'svc_telegram', country: 'cty_us' });
  await sandbox.forceCode(order.id, '123456');
  await sandbox.expire(order.id);
  await sandbox.cancel(5001);
  await sandbox.reset();
  await sandbox.setBalance('1.00');
  const balance: string = await sandbox.balance();
  const faults: Faults = { error_rate: 0.5, random: [{ rate: 0.1, fault: 'status', status: 503 }] };
  await sandbox.setFaults(faults);
  await sandbox.setFaults();
  await sandbox.clearFaults();
  const now: Faults = await sandbox.faults();
  await sandbox.setRateLimit('POLL', 5, { burst: 1, retryAfter: '0' });
  await sandbox.setRateLimit('POLL', null);
  const limit = await sandbox.rateLimit('ORDER');
  const ids: string[] = await sandbox.orderIds();
  const requests: SandboxRequest[] = await sandbox.requests();
  const first: string | undefined = requests[0]?.headers['x-nexotp-api-key'];
  const deliveries: SandboxDelivery[] = await sandbox.deliveries();
  const again: SandboxDelivery = await sandbox.replayDelivery('1');
  const stats: Record<string, unknown> = await sandbox.stats();
  const state: Record<string, unknown> = await sandbox.state();
  await sandbox.clearRequests();
  await sandbox.clearStats();
  const closed: boolean = sandbox.closed;
  await sandbox.close();
  void [url, key, balance, now, limit?.per_second, ids, first, deliveries, again.replayOf, stats, state, closed, sandbox.rootUrl, sandbox.seed];
}

async function recordAndReplay(): Promise<void> {
  const rec: Recording = await record({ upstream: 'https://example.com/wp-json/nexotp/v1/', out: 'traffic.json', timeoutMs: 5000 });
  const n: number = await rec.exchanges();
  const traffic = await rec.traffic();
  await rec.client({ apiKey: 'sk_live_x' }).account();
  await rec.close();
  await using rp: Replay = await replay(rec.outPath, { port: 0 });
  await rp.client().account();
  const unmatched = await rp.unmatched();
  const served: number = await rp.served();
  await rp.rewind();
  void [n, traffic.format, unmatched[0]?.path, served, rp.apiKey, rp.baseUrl, rp.closed, await rp.unused()];
}

void testingKit;
void recordAndReplay;
void everyCall;
void watching;
void errors;
