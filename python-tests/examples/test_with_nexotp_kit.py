"""Testing code that rents numbers, with only `pip install nexotp` (and pytest).

The `nexotp_*` fixtures and the `nexotp_faults` marker come from the plugin the package
registers: no conftest, no binary, no network. (The README's "Testing your code" shows this
file; python-tests/test_testing_kit.py runs it as a user would.)
"""

import pytest

import nexotp


@pytest.fixture(scope="session")
def nexotp_sandbox_options():
    """Optional: the session sandbox's options (here codes arrive after 0.2 s, not 2 s)."""
    return {"code_delay": 0.2}


def rent_and_read_code(client: nexotp.Client) -> str:
    """The code under test: rent a number and wait for its code."""
    order = client.create_order("svc_telegram", "cty_us")
    return client.wait_for_code(order.id, timeout=30).code or ""


def test_reads_the_code(nexotp_client, nexotp_sandbox):
    assert rent_and_read_code(nexotp_client)  # the sandbox's seeded code, after its delay
    assert [r.method for r in nexotp_sandbox.requests()][:1] == ["POST"]


def test_a_forced_code(nexotp_client, nexotp_sandbox):
    order = nexotp_client.create_order("svc_telegram", "cty_us")
    nexotp_sandbox.force_code(order.id, "424242")
    assert nexotp_client.get_order(order.id).code == "424242"


def test_each_test_starts_from_a_fresh_sandbox(nexotp_client):
    assert nexotp_client.account().balance == 25  # nothing spent by the tests before


def test_out_of_balance(nexotp_client, nexotp_sandbox):
    nexotp_sandbox.set_balance("0.00")
    with pytest.raises(nexotp.InsufficientBalanceError):
        nexotp_client.create_order("svc_telegram", "cty_us")


def test_an_expired_order(nexotp_client, nexotp_sandbox):
    order = nexotp_client.create_order("svc_telegram", "cty_us")
    nexotp_sandbox.expire(order.id)
    assert nexotp_client.get_order(order.id).status == "expired"


@pytest.mark.nexotp_faults(script=[{"match": "GET /account", "fault": "status", "status": 503, "times": 5}])
def test_the_api_is_down(nexotp_client):
    with pytest.raises(nexotp.ServerError):
        nexotp_client.with_options(max_retries=1).account()


@pytest.mark.nexotp_faults(error_rate=1.0)
def test_every_request_fails(nexotp_sandbox):
    with nexotp_sandbox.client(max_retries=0) as client, pytest.raises(nexotp.ServerError):
        client.countries()


@pytest.mark.asyncio
async def test_async(nexotp_async_client, nexotp_sandbox):
    order = await nexotp_async_client.create_order("svc_telegram", "cty_us")
    nexotp_sandbox.force_code(order.id, "111111")
    assert (await nexotp_async_client.wait_for_code(order.id, timeout=5)).code == "111111"
