"""Which endpoint URLs the sandbox will POST to: the SSRF guard.

A subscription URL must be ``https://`` and resolve only to public addresses. Loopback is
allowed (over ``http://`` too) so developers can point the sandbox at a local receiver.
Private ranges (10/8, 172.16/12, 192.168/16, fc00::/7) are refused unless the operator opts in
with ``allow_private=True`` (self-hosted setups; it also allows ``http://`` to them).
Link-local (including cloud metadata at 169.254.169.254), unspecified, multicast and reserved
addresses are always refused.

The check resolves the hostname (DNS only, no other I/O). Because DNS can change between the
check and the connection (rebinding), the deliverer calls ``resolve_endpoint`` before every
attempt and connects to the addresses it vetted.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class EndpointRefused(ValueError):
    """The sandbox will not deliver to this URL; the message says why."""


@dataclass(frozen=True)
class Endpoint:
    """A vetted endpoint: the URL's parts and the addresses it may be reached at."""

    scheme: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]


def check_endpoint_url(url: str, *, allow_private: bool = False) -> None:
    """Raise ``EndpointRefused`` unless the sandbox may deliver to ``url``."""
    resolve_endpoint(url, allow_private=allow_private)


def resolve_endpoint(url: str, *, allow_private: bool = False) -> Endpoint:
    """Vet ``url`` and every address its host resolves to, and return them."""
    scheme, host, port = _split(url)
    addresses = _resolve(host, port)
    for address in addresses:
        _check_address(host, address, allow_private)
    if scheme == "http" and not all(_plain_http_ok(a, allow_private) for a in addresses):
        raise EndpointRefused(f"{url} must use https:// (plain http is only allowed to loopback)")
    return Endpoint(scheme, host, port, addresses)


def _split(url: str) -> tuple[str, str, int]:
    """Return scheme, host and port of an absolute http(s) URL."""
    bad = next((char for char in url if char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F), None)
    if bad is not None:  # urlsplit would silently drop a tab or newline; the HTTP client refuses them
        raise EndpointRefused(
            f"URL contains a space or control character ({bad!r} at {url.index(bad)}): percent-encode it"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise EndpointRefused(f"malformed URL: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise EndpointRefused(f"URL scheme must be https, not {scheme or 'missing'!r}")
    if not parts.hostname:
        raise EndpointRefused("URL has no host")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


def _resolve(host: str, port: int) -> tuple[IPAddress, ...]:
    """Return the addresses ``host`` names: itself if a literal, else its DNS answers."""
    literal = _literal(host)
    if literal is not None:
        return (literal,)
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise EndpointRefused(f"host {host!r} does not resolve: {error}") from None
    # Keep DNS order (dict, not set); drop any IPv6 zone id ("fe80::1%eth0").
    addresses = {_unmap(ipaddress.ip_address(str(answer[4][0]).split("%")[0])): None for answer in answers}
    if not addresses:
        raise EndpointRefused(f"host {host!r} does not resolve to any address")
    return tuple(addresses)


def _literal(host: str) -> IPAddress | None:
    try:
        return _unmap(ipaddress.ip_address(host))
    except ValueError:
        return None


def _unmap(address: IPAddress) -> IPAddress:
    """Judge ``::ffff:10.0.0.1`` (and 6to4 ``2002:a00:1::``) as the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address):
        return address.ipv4_mapped or address.sixtofour or address
    return address


def _check_address(host: str, address: IPAddress, allow_private: bool) -> None:
    """Raise ``EndpointRefused`` if ``address`` is never, or not by default, deliverable."""
    # Order matters: the stdlib counts loopback and link-local as "private" too.
    if address.is_loopback:
        return
    reason = _forbidden(address)
    if reason is None and address.is_private and not allow_private:
        reason = "a private address (self-hosted setups opt in with the ALLOW_PRIVATE_WEBHOOKS setting)"
    if reason is None and not address.is_global and not address.is_private:
        reason = "a reserved, non-public address"
    if reason is not None:
        raise EndpointRefused(f"host {host!r} resolves to {address}, {reason}")


def _forbidden(address: IPAddress) -> str | None:
    """Say why an address is refused even with ``allow_private``."""
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_link_local:
        return "a link-local address (cloud metadata lives here)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved:
        return "a reserved address"
    return None


def _plain_http_ok(address: IPAddress, allow_private: bool) -> bool:
    return address.is_loopback or (allow_private and address.is_private)
