"""The SSRF guard on endpoint URLs, at subscription time and before every attempt."""

from __future__ import annotations

import socket

import pytest

from sandbox.services.webhooks import EndpointRefused, check_endpoint_url, urls

REFUSED = [
    ("https://10.0.0.1/hook", "private"),
    ("https://172.16.4.2/hook", "private"),
    ("https://192.168.1.1/hook", "private"),
    ("https://[fd00::1]/hook", "private"),
    ("https://169.254.169.254/latest/meta-data/", "link-local"),
    ("https://[fe80::1]/hook", "link-local"),
    ("https://0.0.0.0/hook", "unspecified"),
    ("https://[::]/hook", "unspecified"),
    ("https://224.0.0.1/hook", "multicast"),
    ("https://240.0.0.1/hook", "reserved"),
    ("https://100.64.0.1/hook", "reserved"),
    ("https://[::ffff:10.0.0.1]/hook", "private"),
    ("https://[::ffff:169.254.169.254]/hook", "link-local"),
    ("https://[2002:a00:1::]/hook", "private"),
    ("http://8.8.8.8/hook", "https"),
    ("ftp://8.8.8.8/hook", "scheme"),
    ("https:///hook", "no host"),
    ("https://8.8.8.8:99999/hook", "malformed"),
]
ALLOWED = [
    "https://8.8.8.8/hook",
    "https://[2001:4860:4860::8888]/hook",
    "http://127.0.0.1:8080/hook",
    "http://127.9.9.9/hook",
    "http://[::1]:8080/hook",
    "https://127.0.0.1/hook",
    "http://localhost:8080/hook",
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_refuses_ssrf_targets(url: str, reason: str) -> None:
    with pytest.raises(EndpointRefused, match=reason):
        check_endpoint_url(url)


@pytest.mark.parametrize("url", ALLOWED)
def test_allows_public_https_and_loopback(url: str) -> None:
    check_endpoint_url(url)


@pytest.mark.parametrize("url", ["https://10.0.0.1/hook", "http://192.168.1.1/hook", "https://[fd00::1]/"])
def test_allow_private_opts_in_for_self_hosted_setups(url: str) -> None:
    check_endpoint_url(url, allow_private=True)


@pytest.mark.parametrize("url", ["https://169.254.169.254/", "http://8.8.8.8/", "https://0.0.0.0/"])
def test_allow_private_still_refuses_metadata_and_plain_http_to_public(url: str) -> None:
    with pytest.raises(EndpointRefused):
        check_endpoint_url(url, allow_private=True)


def fake_dns(monkeypatch: pytest.MonkeyPatch, *answers: str) -> None:
    """Make every hostname resolve to ``answers`` (no resolver, no network)."""

    def getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list[tuple]:
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers
        ]

    monkeypatch.setattr(urls.socket, "getaddrinfo", getaddrinfo)


def test_a_hostname_that_does_not_resolve_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch)
    with pytest.raises(EndpointRefused, match="does not resolve"):
        check_endpoint_url("https://hooks.partner.example/webhook")


def test_a_hostname_is_refused_if_any_answer_is_internal(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, "93.184.215.14", "10.1.2.3")
    with pytest.raises(EndpointRefused, match="10.1.2.3"):
        check_endpoint_url("https://hooks.partner.example/webhook")


def test_plain_http_to_a_name_is_refused_unless_it_is_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, "93.184.215.14")
    with pytest.raises(EndpointRefused, match="https"):
        check_endpoint_url("http://hooks.partner.example/webhook")
    check_endpoint_url("https://hooks.partner.example/webhook")
