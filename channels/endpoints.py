"""Which push endpoints the worker may POST to: https on a public host.

A push subscription comes from a browser through the shop's backend, so its endpoint is data an
attacker can choose: without these checks the worker would POST to ``http://127.0.0.1:...``,
``169.254.169.254`` (cloud metadata) or any host on the private network (server-side request
forgery). Checked when a subscription is stored (no DNS), and again before every send after DNS
resolution, since a public name can point at a private address. ``trusted`` origins
(``https://host:port``) skip the checks: a push service on a private network, or a test's.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Collection
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

#: host, port -> the addresses it resolves to.
Resolve = Callable[[str, int], Awaitable[list[str]]]
_LOCAL_SUFFIXES = (".localhost", ".local", ".localdomain", ".internal", ".home.arpa", ".lan")


def origin(url: str) -> str:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{parts.port or default}"


def address_problem(address: str) -> str | None:
    """Why an IP address is not a public one, or None."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    embedded = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4 inside IPv6 (::ffff:127.0.0.1, 6to4, Teredo) reaches the IPv4 address.
        embedded += [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
        embedded += list(ip.teredo or ())
    for one in embedded:
        if one.is_loopback or one.is_link_local or one.is_private or one.is_multicast:
            return f"{address} is a loopback, link-local, private or multicast address"
        if one.is_unspecified or one.is_reserved or not one.is_global:
            return f"{address} is not a public address"
    return None


def endpoint_problem(url: Any, trusted: Collection[str] = ()) -> str | None:
    """Why ``url`` is not an https URL on a public host (without DNS), or None."""
    if not isinstance(url, str) or not url:
        return "the endpoint must be a URL"
    if len(url) > 2000 or any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in url):
        return "the endpoint is too long or contains spaces or control characters"
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port
    except ValueError:
        return "the endpoint is not a valid URL"
    if origin(url) in {origin(t) for t in trusted}:
        return None
    if parts.scheme != "https":
        return "the endpoint must be an https URL"
    if not host or parts.username is not None or parts.password is not None:
        return "the endpoint needs a host (and no user name)"
    host = host.rstrip(".")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return address_problem(host)
    if "." not in host or host == "localhost" or host.endswith(_LOCAL_SUFFIXES):
        return f"{host!r} is not a public host name"
    if all(ch in "0123456789abcdefx." for ch in host) and host.split(".")[-1].isdigit():
        return f"{host!r} looks like a numeric address"  # 2130706433, 0x7f.1 and the like
    return None


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def resolved_problem(
    url: str, trusted: Collection[str] = (), resolve: Resolve = system_resolve
) -> str | None:
    """``endpoint_problem``, then every address the host resolves to must be public."""
    problem = endpoint_problem(url, trusted)
    if problem is not None or origin(url) in {origin(t) for t in trusted}:
        return problem
    parts = urlsplit(url)
    try:
        addresses = await resolve(parts.hostname or "", parts.port or 443)
    except OSError:
        return None  # unresolvable now: the send fails as a network error, retried
    for address in addresses:
        problem = address_problem(address)
        if problem is not None:
            return f"{parts.hostname} resolves to {problem}"
    return None


class PublicResolver(AbstractResolver):
    """An aiohttp resolver that only returns public addresses (or a trusted host's), so the
    connection goes where the check said, even if DNS changes between check and connect."""

    def __init__(self, trusted: Collection[str] = ()) -> None:
        self._inner = DefaultResolver()
        self._trusted = {urlsplit(t).hostname for t in trusted}

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        if host in self._trusted:
            return found
        public = [r for r in found if address_problem(r["host"]) is None]
        if not public:
            raise OSError(f"{host} resolves to no public address")
        return public

    async def close(self) -> None:
        await self._inner.close()
