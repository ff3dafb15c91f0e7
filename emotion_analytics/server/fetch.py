"""Fetching audio from a request's ``url``, and posting to webhooks, without reaching inside.

A server that fetches URLs for its callers must not become a way into the network it sits in
(cloud metadata at ``169.254.169.254``, an admin page on ``127.0.0.1``). `check_url` resolves
the host and refuses the URL when *any* of its addresses is private, loopback, link-local,
multicast, reserved or unspecified; `guarded_session` checks the address it really connected
to again, so a name that resolves differently the second time (DNS rebinding) is refused too.
Redirects are followed by hand, each hop checked.

Time limits are on the whole request (`deadline`): every socket opened inside a deadline is shut
down when it expires, so a peer that sends one byte a second cannot hold a worker longer than the
limit (a timeout per read would never fire).

>>> policy = URLPolicy()
>>> policy.allows("93.184.216.34"), policy.allows("169.254.169.254"), policy.allows("::1")
(True, False, False)
>>> check_url("http://127.0.0.1/admin", policy)
Traceback (most recent call last):
...
emotion_analytics.errors.UnsafeURLError: url 'http://127.0.0.1/admin' points at ...
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ..errors import FetchError, UnsafeURLError

__all__ = [
    "URLPolicy",
    "UnsafeURLError",
    "FetchError",
    "check_url",
    "guarded_session",
    "fetch",
    "deadline",
    "Deadline",
    "embedded_ipv4",
]

_MAX_REDIRECTS = 5


@dataclass(frozen=True)
class URLPolicy:
    """Which addresses outgoing requests may reach.

    Parameters
    ----------
    allow_private
        Allow every address (the operator's ``--allow-private-urls``).
    allow_loopback
        Allow loopback addresses only (webhooks of a server that listens on loopback).
    """

    allow_private: bool = False
    allow_loopback: bool = False

    def allows(self, address: str) -> bool:
        """Whether an IP address may be contacted.

        >>> URLPolicy(allow_loopback=True).allows("127.0.0.1")
        True
        >>> URLPolicy(allow_loopback=True).allows("10.1.2.3")
        False
        """
        if self.allow_private:
            return True
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address):
            embedded = embedded_ipv4(ip)
            if ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            elif embedded:  # 6to4, NAT64, Teredo, IPv4-compatible: judged by what they carry
                return all(self.allows(str(v4)) for v4 in embedded)
        if ip.is_loopback:
            return self.allow_loopback
        return not (ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved
                    or ip.is_unspecified or not ip.is_global)


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_V4_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries: IPv4-mapped (``::ffff:a.b.c.d``),
    IPv4-compatible (``::a.b.c.d``), 6to4 (``2002::/16``), Teredo (``2001::/32``, server and
    client) and NAT64 (``64:ff9b::/96``, ``64:ff9b:1::/48``).

    >>> [str(a) for a in embedded_ipv4(ipaddress.IPv6Address("2002:a9fe:a9fe::"))]
    ['169.254.169.254']
    >>> [str(a) for a in embedded_ipv4(ipaddress.IPv6Address("64:ff9b::10.0.0.1"))]
    ['10.0.0.1']
    """
    out = []
    if ip.ipv4_mapped is not None:
        out.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        out.append(ip.sixtofour)
    if ip.teredo is not None:
        out.extend(ip.teredo)
    last32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if any(ip in net for net in _NAT64):
        out.append(last32)
    elif ip in _V4_COMPATIBLE and int(ip) > 1:  # not :: nor ::1
        out.append(last32)
    return out


def check_url(url: str, policy: URLPolicy, *, what: str = "url") -> None:
    """Refuse a URL that is not http(s) or whose host resolves to a refused address.

    Raises `UnsafeURLError` naming ``what`` (``"url"``, ``"webhook"``) and the reason.

    >>> check_url("ftp://example.org/a.wav", URLPolicy(), what="url")
    Traceback (most recent call last):
    ...
    emotion_analytics.errors.UnsafeURLError: url 'ftp://example.org/a.wav' ...
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURLError(f"{what} {url!r} is not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeURLError(f"{what} {url!r} is not an http:// or https:// URL")
    host = parts.hostname
    if not host:
        raise UnsafeURLError(f"{what} {url!r} has no host name")
    try:
        infos = socket.getaddrinfo(host, port or (443 if parts.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURLError(f"{what} {url!r}: the host {host!r} cannot be resolved") from exc
    for info in infos:
        address = info[4][0]
        if not policy.allows(address):
            raise UnsafeURLError(
                f"{what} {url!r} points at {address}, a private, loopback or link-local "
                "address this server does not contact; use a public URL (the operator can "
                "allow such targets with --allow-private-urls)"
            )


class Deadline:
    """A total time for everything done over the sockets opened inside `deadline`.

    When it expires, every registered socket is shut down: a blocked read returns at once and
    the request fails.

    Attributes
    ----------
    seconds : float
        The time allowed.
    expired : bool
        Whether the time ran out.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def remaining(self) -> float:
        """Seconds left (at least a millisecond, for use as a socket timeout)."""
        return max(0.001, self.at - time.monotonic())

    def add(self, sock: socket.socket) -> None:
        """Shut ``sock`` down when the deadline expires (at once if it has)."""
        with self._lock:
            self._sockets.append(sock)
            if not self.expired:
                return
        _shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


_current = threading.local()


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[Deadline]:
    """Bound the total time of the guarded requests made in this block (this thread).

    >>> with deadline(5.0) as d:
    ...     d.remaining() <= 5.0
    True
    """
    d = Deadline(seconds)
    outer = getattr(_current, "deadline", None)
    _current.deadline = d
    d._timer.start()
    try:
        yield d
    finally:
        d._timer.cancel()
        _current.deadline = outer


def _guarded_classes(policy: URLPolicy):
    def new_conn(self, base):
        sock = base._new_conn(self)
        address = sock.getpeername()[0]
        if not policy.allows(address):
            sock.close()
            raise UnsafeURLError(
                f"refusing to talk to {address}: a private, loopback or link-local address")
        d = getattr(_current, "deadline", None)
        if d is not None:
            d.add(sock)
        return sock

    http_conn = type("GuardedHTTPConnection", (HTTPConnection,),
                     {"_new_conn": lambda self: new_conn(self, HTTPConnection)})
    https_conn = type("GuardedHTTPSConnection", (HTTPSConnection,),
                      {"_new_conn": lambda self: new_conn(self, HTTPSConnection)})
    http_pool = type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn})
    https_pool = type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn})
    return {"http": http_pool, "https": https_pool}


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, policy: URLPolicy, **kwargs):
        self._pool_classes = _guarded_classes(policy)
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes


def guarded_session(policy: URLPolicy) -> requests.Session:
    """A `requests.Session` that refuses to connect to addresses ``policy`` does not allow.

    Proxies from the environment are ignored (the check is on the real peer).

    >>> s = guarded_session(URLPolicy())
    >>> s.trust_env
    False
    """
    session = requests.Session()
    session.trust_env = False
    adapter = _GuardedAdapter(policy)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def fetch(
    url: str,
    policy: URLPolicy,
    *,
    max_bytes: int,
    timeout: float,
    session: requests.Session | None = None,
) -> bytes:
    """Download a URL's body under size and time limits, checking every redirect hop.

    ``timeout`` is the time for the whole download, redirects included (see `deadline`).
    Raises `UnsafeURLError` for refused targets and `FetchError` for everything else that
    goes wrong (the message names the URL).

    >>> fetch("http://169.254.169.254/latest/meta-data", URLPolicy(), max_bytes=10, timeout=1)
    Traceback (most recent call last):
    ...
    emotion_analytics.errors.UnsafeURLError: url 'http://169.254.169.254/...' points at ...
    """
    own = session is None
    session = session or guarded_session(policy)
    try:
        with deadline(timeout) as limit:
            return _fetch(url, policy, session, max_bytes, limit)
    finally:
        if own:
            session.close()


def _fetch(url: str, policy: URLPolicy, session: requests.Session, max_bytes: int,
           limit: Deadline) -> bytes:
    timeout = limit.seconds
    current = url
    for _ in range(_MAX_REDIRECTS + 1):
        check_url(current, policy)
        try:
            with session.get(current, stream=True, timeout=limit.remaining(),
                             allow_redirects=False) as resp:
                if resp.is_redirect:
                    current = urljoin(current, resp.headers["location"])
                    continue
                if resp.status_code != 200:
                    raise FetchError(f"fetching {url!r} answered HTTP {resp.status_code}; "
                                     "check that the URL is public and right")
                declared = resp.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise FetchError(_too_big(url, max_bytes))
                chunks, size = [], 0
                for chunk in resp.iter_content(64 * 1024):
                    size += len(chunk)
                    if limit.expired:
                        raise FetchError(_too_slow(url, timeout))
                    if size > max_bytes:
                        raise FetchError(_too_big(url, max_bytes))
                    chunks.append(chunk)
                if limit.expired:  # the shut-down socket may read as a clean end
                    raise FetchError(_too_slow(url, timeout))
                return b"".join(chunks)
        except requests.RequestException as exc:
            if limit.expired:
                raise FetchError(_too_slow(url, timeout)) from exc
            raise FetchError(f"fetching {url!r} failed: {type(exc).__name__}: {exc}") from exc
    raise FetchError(f"fetching {url!r}: more than {_MAX_REDIRECTS} redirects")


def _too_slow(url: str, timeout: float) -> str:
    return (f"fetching {url!r} took longer than {timeout:g} s in all (this server's "
            "--fetch-timeout); serve the file faster or ask the operator to raise it")


def _too_big(url: str, max_bytes: int) -> str:
    return (f"the audio at {url!r} is larger than this server's limit of {max_bytes} bytes; "
            "split it, or ask the operator to raise --max-fetch-bytes")
