"""Who is signing in from where, and how long they wait after failing.

The client's address is the connection's, unless it comes from a reverse proxy named in
``ESCALADE_TRUSTED_PROXIES``: then it is the nearest ``X-Forwarded-For`` hop that is not one
of those proxies (a client can write anything in that header, so hops are read from the
proxy's end and only trusted proxies are skipped).

Failed sign-ins wait longer and longer, counted in the database (``store.throttle``) on three
keys at once:

- the address and the account together: a few free tries, then doubling waits up to 15 min;
- the address, whatever account it tries: more free tries, the same waits;
- the account, from any address: the same free tries, then waits of at most a minute, so
  someone who only knows an admin's e-mail can slow them down but never lock them out. From
  an address in ``ESCALADE_ADMIN_TRUSTED_NETWORKS`` this one is not applied at all.

There is no lock-out: every wait runs out by itself, and a successful sign-in clears the
account's counters.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from integration.errors import ConfigurationError
from integration.store.throttle import (
    Delay,
    count_attempt,
    forget_failures,
    take_back,
    throttle_key,
)

__all__ = [
    "ACCOUNT_DELAY",
    "ADDRESS_DELAY",
    "PAIR_DELAY",
    "Network",
    "SignInKeys",
    "begin_sign_in",
    "client_address",
    "in_networks",
    "parse_networks",
    "sign_in_succeeded",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

PAIR_DELAY = Delay(free=3, base=timedelta(seconds=2), cap=timedelta(minutes=15))
ADDRESS_DELAY = Delay(free=10, base=timedelta(seconds=2), cap=timedelta(minutes=15))
ACCOUNT_DELAY = Delay(free=10, base=timedelta(seconds=1), cap=timedelta(minutes=1))


def parse_networks(setting: str, raw: str | None) -> tuple[Network, ...]:
    """``10.0.0.0/8, 127.0.0.1`` into networks; ``ConfigurationError`` naming ``setting``."""
    networks = []
    for part in (raw or "").split(","):
        text = part.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError as err:
            raise ConfigurationError(f"{setting}: {text!r} is not an address or network "
                                     "(e.g. 10.0.0.0/8, 127.0.0.1/32)") from err
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        found = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket is still that IPv4 client.
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped
    return found


def in_networks(address: str, networks: Iterable[Network]) -> bool:
    """True when ``address`` lies in one of ``networks``."""
    found = _address(address)
    return found is not None and any(found in net for net in networks)


def client_address(remote: str | None, forwarded_for: str | None,
                   proxies: tuple[Network, ...]) -> str:
    """The client's address: the connection's, or past trusted proxies in X-Forwarded-For."""
    current = remote or ""
    if not proxies or not in_networks(current, proxies):
        return current
    for hop in reversed([h.strip() for h in (forwarded_for or "").split(",") if h.strip()]):
        if _address(hop) is None:
            # Garbage in the header: the last proxy we trust is all we know.
            return current
        current = str(_address(hop))
        if not in_networks(current, proxies):
            return current
    return current


@dataclass(frozen=True, kw_only=True, slots=True)
class SignInKeys:
    """The throttle keys of one sign-in attempt."""

    pair: str
    address: str
    account: str

    @classmethod
    def of(cls, *, address: str, email: str) -> SignInKeys:
        """The keys for ``email`` signing in from ``address``."""
        return cls(pair=throttle_key("pair", address, email),
                   address=throttle_key("address", address),
                   account=throttle_key("account", email))

    def delays(self) -> Mapping[str, Delay]:
        """Each key with the delay it follows."""
        return {self.pair: PAIR_DELAY, self.address: ADDRESS_DELAY,
                self.account: ACCOUNT_DELAY}


def begin_sign_in(s: Session, keys: SignInKeys, *, trusted: bool, now: datetime) -> float:
    """Seconds this attempt must still wait (roll ``s`` back then), else 0 and it is counted.

    Counted before the password is checked, so a burst of simultaneous attempts gets no more
    tries than one after the other.
    """
    checked = [keys.pair, keys.address] + ([] if trusted else [keys.account])
    until = count_attempt(s, keys.delays(), checked=checked, now=now)
    return max(0.0, (until - now).total_seconds()) if until is not None else 0.0


def sign_in_succeeded(s: Session, keys: SignInKeys) -> None:
    """The admin proved who they are: their account's tries start over, the address's one
    attempt is taken back."""
    forget_failures(s, [keys.pair, keys.account])
    take_back(s, [keys.address])
