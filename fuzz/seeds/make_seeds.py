#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/ from the contract's documented answers
(spec/contract.md): a few KB in all. Run from fuzz/: python3 seeds/make_seeds.py"""
import hashlib, hmac, json, os, struct

env = lambda data: {"success": True, "data": data, "meta": {"request_id": "req_01JD6Q"}}
ACCOUNT = {"user_id": 1, "email": "a@example.com", "balance": "25.00", "currency": "USD",
           "plan": "starter", "usage": {"orders_today": 0, "orders_total": 0, "requests_today": 0}}
TX = {"id": 1001, "type": "order", "amount": "-0.50", "balance_after": "24.50",
      "description": "Order 5001", "order_id": 5001, "created_at": "2026-11-26T08:00:00Z"}
COUNTRY = {"code": "cty_us", "name": "United States", "iso": "US", "dial_code": "+1"}
SERVICE = {"id": "svc_telegram", "name": "Telegram", "price": "0.50", "available": 120}
POOL = {"id": "pool_a", "price": "0.50", "available": 80, "success_rate": "0.91"}
PRICE = {"service": "svc_telegram", "country": "cty_us", "price": "0.50", "currency": "USD",
         "available": 120, "pools": [POOL, "pool_b"]}
ORDER = {"id": 5001, "status": "received", "service": "svc_telegram", "country": "cty_us",
         "pool": "pool_a", "phone": "+15550100001", "price": "0.50", "code": "123456",
         "codes": ["123456"], "sms": "Your code is 123456", "created_at": "2026-11-26T08:00:00Z",
         "updated_at": "2026-11-26T08:00:02Z", "expires_at": "2026-11-26T08:20:00Z"}
WEBHOOK = {"id": 7, "endpoint_url": "https://example.com/hooks/nexotp",
           "events": ["order.code_received"], "active": True, "created_at": "2026-11-26T08:00:00Z",
           "secret": "whsec_0123456789abcdef"}
DELETED = {"id": 7, "deleted": True}
PAGE = {"items": [TX], "page": 1, "per_page": 20, "total": 3, "total_pages": 1}

def write(target, name, data):
    os.makedirs(f"corpus/{target}", exist_ok=True)
    with open(f"corpus/{target}/seed-{name}", "wb") as f:
        f.write(data)

j = lambda v: json.dumps(v, separators=(",", ":")).encode()

# models: 1 byte (model, list flag), then the body. Model numbers as in fuzz_targets/models.rs.
for i, (name, model) in enumerate([("account", ACCOUNT), ("transaction", TX), ("country", COUNTRY),
        ("service", SERVICE), ("pool", POOL), ("price", PRICE), ("order", ORDER)]):
    write("models", name, bytes([i]) + j(env(model)))
write("models", "countries", bytes([0x12]) + j(env([COUNTRY, {"id": "cty_gb", "code": "cty_uk"}])))
write("models", "services_bare", bytes([0x13]) + j([SERVICE]))
write("models", "orders_php_map", bytes([0x16]) + j({"5001": ORDER}))
write("models", "webhook", bytes([9]) + j(env(WEBHOOK)))
write("models", "webhooks", bytes([0x19]) + j(env([WEBHOOK])))
write("models", "webhook_deleted", bytes([10]) + j(env(DELETED)))
write("models", "page", bytes([11]) + j(env(PAGE)))
write("models", "page_bare", bytes([11]) + j(env([TX, TX])))

# envelope: 2 bytes status, 1 byte header count, header lines, body.
def answer(status, body, headers=()):
    head = b"".join(f"{k}: {v}\n".encode() for k, v in headers)
    return struct.pack("<H", status - 100) + bytes([len(headers)]) + head + body
write("envelope", "ok", answer(200, j(env(ORDER)), [("X-Request-Id", "req_1")]))
write("envelope", "created", answer(201, j(env(WEBHOOK))))
write("envelope", "page", answer(200, j(env(PAGE)), [("X-WP-Total", "3"), ("X-WP-TotalPages", "1")]))
err = lambda code, status: {"success": False, "error": {"code": code, "message": "no",
                            "details": {"sandbox_fault": True}}, "meta": {"request_id": "req_2"}}
write("envelope", "insufficient", answer(402, j(err("insufficient_balance", 402))))
write("envelope", "false_in_200", answer(200, j(err("no_numbers_available", 200))))
write("envelope", "rate_limited", answer(429, j(err("rate_limited", 429)),
      [("Retry-After", "0"), ("X-RateLimit-Bucket", "POLL"), ("retry-after-ms", "250")]))
write("envelope", "retry_date", answer(503, j(err("service_unavailable", 503)),
      [("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT")]))
write("envelope", "wp_invalid", answer(400, j({"code": "rest_invalid_param",
      "message": "Invalid parameter(s): per_page", "data": {"status": 400,
      "params": {"per_page": "per_page must be between 1 and 100"}, "details": {}}})))
write("envelope", "wp_internal", answer(500, b'{"code":"internal_server_error","message":"<p>There has been a critical error on this website.<\\/p>","data":{"status":500},"additional_errors":[]}'))
write("envelope", "html500", answer(500, b"<!DOCTYPE html><html><head><title>WordPress &rsaquo; Error</title><style>b{}</style></head><body><p>There has been a critical error on this website.</p></body></html>"))
write("envelope", "nginx502", answer(502, b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"))
write("envelope", "truncated_secret", answer(201, j(env(WEBHOOK))[:120]))
write("envelope", "gateway_json", answer(504, b'{"message":"Endpoint request timed out"}'))

# signature_header: the header line, then the body.
SECRET = b"whsec_fuzz_secret"
EVENT = j({"id": "evt_1", "type": "order.code_received", "created_at": 1795680000, "data": ORDER})
sig = lambda t, body: hmac.new(SECRET, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
write("signature_header", "valid", f"t=1795680000,v1={sig(1795680000, EVENT)}\n".encode() + EVENT)
write("signature_header", "rotated", f"t=1795680000,v1={'00' * 32},v0=abc,v1={sig(1795680000, b'{}')}\n{{}}".encode())
write("signature_header", "spec_example", b"t=1795680000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd\n{}")

# webhook_event: the body alone (the target signs it).
write("webhook_event", "code_received", EVENT)
write("webhook_event", "webhook_test", j({"id": 9, "event": "webhook.test", "created_at": "1795680000", "data": {}}))
write("webhook_event", "expired", j({"id": "evt_2", "type": "order.expired", "data": dict(ORDER, status="expired", code=False, refund="0.50")}))
