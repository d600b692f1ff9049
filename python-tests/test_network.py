"""Network options: HTTPS with a CA made by the test (HTTP/2 by ALPN, HTTP/1.1 when off), a
certificate error without it, an explicit proxy with credentials (the password never shown),
and bad values refused before any request.

``nexotp-testnet`` runs a TLS forwarder (ALPN h2 + http/1.1) in front of the session sandbox
and a counting proxy that wants ``alice:s3cret-Pass``."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

import nexotp
from conftest import KEY, ROOT, Sandbox

PASSWORD = "s3cret-Pass"


class NetFixture:
    def __init__(self, upstream: str) -> None:
        binary = os.environ.get("NEXOTP_TESTNET_BIN") or str(ROOT / "target" / "debug" / "nexotp-testnet")
        if not Path(binary).exists():
            raise RuntimeError(f"{binary} not found: run `cargo build -p nexotp-testnet`")
        self.proc = subprocess.Popen(
            [binary, "--upstream", upstream, "--proxy-user", "alice", "--proxy-password", PASSWORD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        info = json.loads(self.proc.stdout.readline())
        self.https_url: str = info["https_url"]
        self.ca_file: str = info["ca_file"]
        self.ca_pem: str = info["ca_pem"]
        self.proxy_url: str = info["proxy_url"]
        self.stats_url: str = info["stats_url"]

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.stats_url, timeout=10) as resp:
            return dict(json.loads(resp.read().decode()))

    def proxy(self, password: str = PASSWORD) -> str:
        return self.proxy_url.replace("http://", f"http://alice:{password}@")

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def testnet(session_sandbox: Sandbox) -> Iterator[NetFixture]:
    net = NetFixture(session_sandbox.url)
    yield net
    net.stop()


def https_client(net: NetFixture, **kwargs: Any) -> nexotp.Client:
    return nexotp.Client(KEY, base_url=net.https_url, timeout=10, **kwargs)


@pytest.mark.parametrize("form", ["pem", "path", "pathlike", "bytes"])
def test_ca_certificates_trust_the_https_server(sandbox: Sandbox, testnet: NetFixture, form: str) -> None:
    value: Any = {
        "pem": testnet.ca_pem,
        "path": testnet.ca_file,
        "pathlike": Path(testnet.ca_file),
        "bytes": testnet.ca_pem.encode(),
    }[form]
    with https_client(testnet, ca_certificates=value) as client:
        assert client.account().balance is not None
    assert sandbox.requests()[-1]["http_version"] == "HTTP/2.0"


@pytest.mark.parametrize("http2,version,alpn", [(True, "HTTP/2.0", "h2"), (False, "HTTP/1.1", "http/1.1")])
def test_http2_on_and_off(sandbox: Sandbox, testnet: NetFixture, http2: bool, version: str, alpn: str) -> None:
    with https_client(testnet, ca_certificates=testnet.ca_pem, http2=http2, tls_roots="both", max_connections=4) as client:
        client.countries()
    assert sandbox.requests()[-1]["http_version"] == version
    assert testnet.stats()["alpn"][-1] == alpn


async def test_async_client_takes_the_same_options(sandbox: Sandbox, testnet: NetFixture) -> None:
    async with nexotp.AsyncClient(
        KEY, base_url=testnet.https_url, ca_certificates=testnet.ca_file, http2=False, max_connections=2
    ) as client:
        await client.account()
    assert sandbox.requests()[-1]["http_version"] == "HTTP/1.1"


def test_without_the_ca_it_is_a_certificate_error(sandbox: Sandbox, testnet: NetFixture) -> None:
    with https_client(testnet) as client:
        with pytest.raises(nexotp.APIConnectionError) as info:
            client.account()
    assert "certificate" in str(info.value)
    assert "ca_certificates" in str(info.value)
    assert sandbox.requests() == []


def test_proxy_with_credentials(sandbox: Sandbox, testnet: NetFixture) -> None:
    before = testnet.stats()["connects"]
    with https_client(testnet, ca_certificates=testnet.ca_pem, proxy=testnet.proxy()) as client:
        client.account()
        client.countries()
        assert PASSWORD not in repr(client)
    assert testnet.stats()["connects"] == before + 1
    assert len(sandbox.requests()) == 2


def test_wrong_proxy_password_is_not_shown(sandbox: Sandbox, testnet: NetFixture) -> None:
    wrong = "Wr0ng-PASSWORD-x"
    refused = testnet.stats()["refused"]
    with https_client(testnet, ca_certificates=testnet.ca_pem, proxy=testnet.proxy(wrong)) as client:
        with pytest.raises(nexotp.APIConnectionError) as info:
            client.account()
    err = info.value
    assert "407" in str(err)
    for text in (str(err), repr(err), repr(err.__cause__), repr(err.__context__)):
        assert wrong not in text
    assert testnet.stats()["refused"] == refused + 1
    assert sandbox.requests() == []


@pytest.mark.parametrize(
    "kwargs,argument",
    [
        ({"max_connections": 0}, "max_connections"),
        ({"max_connections": 100_000}, "max_connections"),
        ({"max_connections": -1}, "max_connections"),
        ({"max_connections": "8"}, "max_connections"),
        ({"max_idle_connections": 100_000}, "max_idle_connections"),
        ({"http2": "yes"}, "http2"),
        ({"http2": 1}, "http2"),
        ({"tls_roots": "os"}, "tls_roots"),
        ({"proxy": "socks5://u:hunter2@127.0.0.1:1"}, "proxy"),
        ({"proxy": 8080}, "proxy"),
        ({"ca_certificates": 123}, "ca_certificates"),
        ({"ca_certificates": "/nonexistent/ca.pem"}, "ca_certificates"),
        ({"ca_certificates": b"no pem here"}, "ca_certificates"),
        ({"pool_idle_timeout": 0}, "pool_idle_timeout"),
    ],
)
def test_bad_network_values(sandbox: Sandbox, kwargs: dict[str, Any], argument: str) -> None:
    for cls in (nexotp.Client, nexotp.AsyncClient):
        with pytest.raises(nexotp.InvalidArgumentError) as info:
            cls(KEY, base_url=sandbox.url, **kwargs)
        assert info.value.argument == argument
        assert "hunter2" not in str(info.value)
    assert sandbox.requests() == []
