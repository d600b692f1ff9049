"""Type-checked by pyright --strict (scripts/test-python): calls every public function and
method of the package with the types users pass, and uses every model attribute. It is also
run for real against the sandbox by test_typecheck_usage.py."""

from __future__ import annotations

import asyncio
import pickle
import time
from decimal import Decimal

import nexotp
import nexotp.testing
from nexotp import errors


def use_order(order: nexotp.Order) -> str:
    status: nexotp.OrderStatus = order.status
    price: Decimal | None = order.price
    parts: list[str | None] = [
        order.id, order.service, order.country, order.pool, order.phone, order.code, order.sms,
        order.created_at, order.updated_at, order.expires_at, str(price), str(order.refund),
    ]
    codes: list[str] = order.codes + order.all_codes()
    closed: bool = order.is_closed or status.is_closed or not status.known
    raw: dict[str, object] = order.raw
    return f"{parts}{codes}{closed}{raw}{order.to_dict()}{order == order}{repr(order)}"


def use_reconciliation(found: nexotp.Reconciliation) -> str:
    outcome: str = found.outcome
    if found.outcome == "applied" and found.order is not None:
        use_order(found.order)
    hook: nexotp.Webhook | None = found.webhook
    orders: list[nexotp.Order] = found.orders
    hooks: list[nexotp.Webhook] = found.webhooks
    return f"{outcome}{hook}{orders}{hooks}{found!r}"


def lost_order() -> nexotp.OrderOutcomeUnknownError:
    """An error as `create_order` raises it when the answer is lost (built by hand here)."""
    now = time.time()
    return nexotp.OrderOutcomeUnknownError(
        "lost", operation="create_order", service="svc_telegram", country="cty_us",
        max_price=Decimal("9"), sent_at=now - 1, failed_at=now,
    )


def fleet_settings(url: str, key: str) -> None:
    shared = nexotp.Client(key, base_url=url, rate_limit_store="memory", rate_limits={"POLL": (20, 1), "ORDER": 5})
    countries: list[nexotp.Country] = shared.countries()
    assert countries
    shared.close()
    text = nexotp.AsyncClient(key, base_url=url, rate_limits="POLL=20/s,burst=1; ORDER=5/s")
    asyncio.run(text.close())


def sync_flow(url: str, key: str) -> None:
    with nexotp.Client(key, base_url=url, timeout=10.0, max_retries=2, deadline=None) as client:
        base: str = client.base_url
        timeout: float = client.timeout
        connect: float = client.connect_timeout
        retries: int = client.max_retries
        whole: float | None = client.deadline
        _ = whole
        faster: nexotp.Client = client.with_options(timeout=5, max_retries=1, deadline=20.0)
        account: nexotp.Account = faster.account()
        balance: Decimal = account.balance
        _ = (base, timeout, connect, retries, balance, account.currency, account.plan, account.email,
             account.user_id, account.usage, account.raw, account.to_dict())

        page: nexotp.TransactionPage = client.transactions(page=1, per_page=10)
        _ = (page.page, page.per_page, page.total, page.total_pages, page.has_more, len(page), page.to_dict())
        for tx in page.items:
            _ = (tx.id, tx.type, tx.amount, tx.balance_after, tx.description, tx.order_id, tx.created_at, tx.raw)
        every: list[nexotp.Transaction] = list(client.iter_transactions(per_page=50))
        _ = every

        countries: list[nexotp.Country] = client.countries()
        _ = [(c.code, c.name, c.iso, c.dial_code, c.raw, c.to_dict()) for c in countries]
        services: list[nexotp.Service] = client.services("cty_us")
        _ = [(s.id, s.name, s.price, s.available, s.raw) for s in services]
        price: nexotp.Price = client.price("svc_telegram", "cty_us")
        _ = (price.service, price.country, price.price, price.currency, price.available, price.raw)
        pools: list[nexotp.Pool] = price.pools
        _ = [(p.id, p.price, p.available, p.success_rate, p.raw) for p in pools]

        order = client.create_order(
            "svc_telegram", "cty_us", pool=None, pricing_option="cheapest", max_price=price.price
        )
        use_order(order)
        use_order(client.get_order(order.id))
        done = client.wait_for_code(order.id, timeout=10, poll_interval=0.1, cancel_on_timeout=True, exclude_codes=["1"])
        use_order(done)
        use_order(client.resend_order(order.id))
        other = client.create_order("svc_google", "cty_gb", pricing_option=1, max_price=Decimal("9"))
        use_order(client.cancel_order(other.id))
        third = client.create_order("svc_google", "cty_gb", max_price="9.00")
        use_order(client.cancel_order(int(third.id)))

        hook: nexotp.Webhook = client.create_webhook("http://127.0.0.1:9/hook", ["order.created"])
        secret: str | None = hook.secret
        _ = (hook.id, hook.endpoint_url, hook.events, hook.active, hook.created_at, hook.raw, secret)
        hooks: list[nexotp.Webhook] = client.webhooks()
        _ = hooks
        gone: nexotp.WebhookDeleted = client.delete_webhook(hook.id)
        _ = (gone.id, gone.deleted, gone.raw)
        client.create_webhook("http://127.0.0.1:9/other", "order.created,order.cancelled")

        use_reconciliation(client.reconcile(lost_order()))
        try:
            client.get_order("999999")
        except nexotp.NotFoundError as exc:
            retryable: bool = exc.retryable
            _ = (exc.status, exc.code, exc.message, exc.request_id, exc.retry_after, exc.body, exc.params, retryable)
        except errors.APIError:
            raise
        try:
            client.wait_for_code(order.id, timeout=0)
        except nexotp.InvalidArgumentError as exc:
            _ = exc.argument
        closed: bool = client.closed
        _ = closed
    client.close()


async def async_flow(url: str, key: str) -> None:
    async with nexotp.AsyncClient(key, base_url=url, timeout=None, connect_timeout=5.0, deadline=30) as client:
        _ = (client.base_url, client.timeout, client.max_retries, client.deadline, client.closed, repr(client))
        other: nexotp.AsyncClient = client.with_options(timeout=5.0, max_retries=0, deadline=None)
        account: nexotp.Account = await other.account()
        _ = account.balance
        page: nexotp.TransactionPage = await client.transactions(page=1, per_page=5)
        _ = page.items
        items: list[nexotp.Transaction] = [t async for t in client.iter_transactions(per_page=5)]
        _ = items
        countries: list[nexotp.Country] = await client.countries()
        services: list[nexotp.Service] = await client.services("cty_us")
        price: nexotp.Price = await client.price("svc_telegram", "cty_us")
        _ = (countries, services)
        order: nexotp.Order = await client.create_order(
            "svc_telegram", "cty_us", pool="pool_a", pricing_option="best_rate", max_price=price.price
        )
        use_order(await client.get_order(order.id))
        use_order(await client.wait_for_code(order.id, timeout=10.0, poll_interval=0.1, cancel_on_timeout=False))
        use_order(await client.resend_order(order.id))
        extra = await client.create_order("svc_google", "cty_gb")
        use_order(await client.cancel_order(extra.id))
        orders: list[nexotp.Order] = await asyncio.gather(*(client.get_order(order.id) for _ in range(3)))
        _ = orders
        hook = await client.create_webhook("http://127.0.0.1:9/a", ("order.created", "order.expired"))
        hooks: list[nexotp.Webhook] = await client.webhooks()
        _ = hooks
        deleted: nexotp.WebhookDeleted = await client.delete_webhook(hook.id)
        _ = deleted
        use_reconciliation(await client.reconcile(lost_order()))
        try:
            await client.create_order("svc_whatsapp", "cty_de")
        except nexotp.ConflictError as exc:
            _ = exc.code
        except nexotp.OrderOutcomeUnknownError as exc:
            use_reconciliation(await client.reconcile(exc))
    await client.close()


def webhooks() -> None:
    body = b'{"id":"evt_1","type":"order.created","created_at":1,"data":{"id":1,"status":"pending"}}'
    header: str = nexotp.sign_webhook(body, "whsec_x")
    header_at: str = nexotp.sign_webhook(body.decode(), "whsec_x", timestamp=1_700_000_000)
    event: nexotp.WebhookEvent = nexotp.verify_webhook(body, header, "whsec_x", tolerance=300)
    order: nexotp.Order | None = event.order
    _ = (event.id, event.type, event.created_at, event.data, event.raw, order, header_at)
    try:
        nexotp.verify_webhook(body, header_at, "whsec_x")
    except nexotp.WebhookVerificationError as exc:
        _ = str(exc)


def exceptions() -> None:
    classes: list[type[nexotp.NexOTPError]] = [
        nexotp.NexOTPError, nexotp.InvalidArgumentError, nexotp.APIError, nexotp.AuthenticationError,
        nexotp.PermissionDeniedError, nexotp.NotFoundError, nexotp.InvalidRequestError,
        nexotp.InsufficientBalanceError, nexotp.ConflictError, nexotp.RateLimitError, nexotp.ServerError,
        nexotp.APIConnectionError, nexotp.APITimeoutError, nexotp.OrderOutcomeUnknownError,
        nexotp.UnexpectedResponseError, nexotp.WaitTimeoutError, nexotp.OrderClosedError,
        nexotp.WebhookVerificationError,
    ]
    for cls in classes:
        exc = cls("x")
        copy: nexotp.NexOTPError = pickle.loads(pickle.dumps(exc))
        _ = (copy.message, copy.status, copy.order)
    timeout = errors.WaitTimeoutError("t", order_id="5001", waited=1.0, cancelled=True)
    last: nexotp.Order | None = timeout.order
    _ = (timeout.order_id, timeout.waited, timeout.cancelled, last)
    unknown = errors.OrderOutcomeUnknownError("u", operation="create_order")
    limit: Decimal | None = unknown.max_price
    before: nexotp.OrderStatus | None = unknown.status_before
    codes: list[str] = unknown.codes_before + unknown.events
    sent: float | None = unknown.sent_at
    failed: float | None = unknown.failed_at
    retryable: bool = unknown.retryable
    _ = (unknown.operation, unknown.service, unknown.country, unknown.pool, unknown.order_id,
         unknown.endpoint_url, limit, before, codes, sent, failed, retryable)
    _ = errors.UnexpectedResponseError("s", snippet="<html>").snippet
    rate = errors.RateLimitError("r", bucket="POLL", retry_after=1.0)
    _ = (rate.bucket, rate.retry_after, rate.details)
    status: nexotp.OrderStatus = nexotp.OrderStatus("pending")
    _ = (status.value, nexotp.OrderStatus.RECEIVED, nexotp.__version__)


def balance_of(url: str, key: str) -> Decimal:
    # `Client.__exit__` returns None: a type checker knows the `with` swallows nothing, so
    # this function returns on every path (with `-> bool` pyright reported a missing return).
    with nexotp.Client(key, base_url=url) as client:
        return client.account(timeout=5, max_retries=0, deadline=20).balance


async def per_call_options(url: str, key: str) -> nexotp.Order:
    async with nexotp.AsyncClient(key, base_url=url) as client:
        order = await client.create_order("svc_telegram", "cty_us", max_retries=0, deadline=30.0)
        return await client.wait_for_code(order.id, timeout=60, request_timeout=5, max_retries=1)


def watching(url: str, key: str) -> None:
    with nexotp.Client(key, base_url=url) as client, client.watch() as watcher:
        order = client.create_order("svc_telegram", "cty_us")
        watcher.add(order.id, timeout=20, poll_interval=0.05, cancel_on_timeout=False, exclude_codes=[])
        removed: bool = watcher.remove("1")
        for event in watcher:
            kind: str = event.kind
            code: str | None = event.code
            found: nexotp.Order | None = event.order
            error: BaseException | None = event.error
            _ = (kind, code, found, error, event.order_id, event.cancelled, event.from_webhook)
            break
        count: int = len(watcher)
        closed: bool = watcher.closed
        _ = (removed, count, closed)

    async def run() -> None:
        async with nexotp.AsyncClient(key, base_url=url) as client:
            order = await client.create_order("svc_telegram", "cty_us")
            async with client.watch() as watcher:
                watcher.add(order.id, timeout=20, poll_interval=0.05)
                async for event in watcher:
                    got: nexotp.WatchEvent = event
                    _ = got.code
                    break

    asyncio.run(run())


def testing_kit(tmp_dir: str) -> None:
    """``nexotp.testing``: the sandbox in-process, its control methods, record and replay."""
    with nexotp.testing.Sandbox(
        api_key="sk_test_typed", seed=7, code_delay=0.05, order_ttl=60, balance=Decimal("5.00"), stock=3,
        faults={"latency_ms": 0}, rate_limits={"POLL": 100, "ORDER": {"per_second": 50, "burst": 5}},
        request_log_limit=100, host="127.0.0.1", port=0,
    ) as sandbox:
        url: str = sandbox.base_url
        with sandbox.client(max_retries=0) as client:
            order = client.create_order("svc_telegram", "cty_us")
            sandbox.force_code(order.id, "123456")
            sandbox.set_balance("4.00")
            balance: Decimal = sandbox.balance()
            sandbox.set_faults({"error_rate": 0.0}, latency_ms=0)
            with sandbox.faulted(script=[{"fault": "status", "status": 503}]):
                pass
            sandbox.clear_faults()
            faults: dict[str, object] = sandbox.faults()
            sandbox.set_rate_limit("POLL", None)
            sandbox.set_rate_limit("ORDER", 10, burst=1, retry_after="0")
            limit: dict[str, object] | None = sandbox.rate_limit("ORDER")
            requests: list[nexotp.testing.RecordedRequest] = sandbox.requests()
            first = requests[0]
            parts: list[object] = [
                first.method, first.path, first.query, first.headers, first.body, first.bucket, first.status,
                first.at, first.request_id, first.latency_ms, first.http_version, first.header("accept"),
                first.to_dict(),
            ]
            deliveries: list[nexotp.testing.WebhookDelivery] = sandbox.deliveries()
            ids: list[int] = sandbox.order_ids()
            sandbox.expire(order.id)
            stats: dict[str, object] = sandbox.stats()
            state: dict[str, object] = sandbox.state()
            sandbox.clear_requests()
            sandbox.clear_stats()
            sandbox.reset()
        _ = [url, balance, faults, limit, parts, deliveries, ids, stats, state, sandbox.root_url, sandbox.seed]
        traffic = f"{tmp_dir}/traffic.json"
        with nexotp.testing.record(sandbox.base_url, traffic, timeout=10) as rec:
            with rec.client(sandbox.api_key) as client:
                client.account()
            n: int = rec.exchanges()
            _ = [n, rec.traffic(), rec.out_path]
    with nexotp.testing.replay(traffic) as rp, rp.client() as client:
        client.account()
        _ = [rp.served(), rp.unused(), rp.unmatched(), rp.api_key]
        rp.rewind()

    async def run() -> None:
        async with nexotp.testing.Sandbox() as sandbox, sandbox.async_client() as client:
            await client.account()
        await sandbox.aclose()

    asyncio.run(run())


def main(url: str, key: str) -> None:
    fleet_settings(url, key)
    watching(url, key)
    sync_flow(url, key)
    asyncio.run(async_flow(url, key))
    webhooks()
    exceptions()
