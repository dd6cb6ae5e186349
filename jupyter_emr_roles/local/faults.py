"""Faults the emulator injects on request, so a client can be watched riding them out.

``local up --faults throttle=0.2,livy-5xx=0.1,drop-answer=0.05,latency=200ms,seed=7``: each
key is a fault and the share of requests it hits (or, for latency, how long each answer
waits), for one service (``livy-``, or ``aws-``: EMR's and EMR Serverless's control planes)
or for every one that takes it (no prefix). A seed makes a run repeatable: the same
requests in the same order meet the same faults.

What each fault does is what a network, a proxy or a busy account does to real services:

- ``throttle`` (AWS only): ``ThrottlingException`` ("Rate exceeded") before the call acts.

- ``5xx``: a third each of 502 and 503 answered before Livy sees the request (a proxy with
  no backend, a Livy restarting), and 504 answered after Livy acted on it (a proxy that
  gave up waiting): a client cannot tell from the answer whether its POST was taken.
- ``drop-answer``: Livy acts on the request, and the connection closes before its answer.
- ``latency``: every answer waits this long (a far region, a loaded proxy).
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from dataclasses import dataclass, field

from ..errors import EmrRolesError

# The faults each service takes.
SERVICES = {"livy": ("5xx", "drop-answer", "latency"),
            "aws": ("throttle", "5xx", "drop-answer", "latency")}
THROTTLE = "throttle"
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)?$")


@dataclass(frozen=True)
class ServiceFaults:
    """One service's faults: the share of requests answered 5xx, the share whose answer is
    dropped, and the seconds each answer waits."""

    server_errors: float = 0.0
    drop_answer: float = 0.0
    latency: float = 0.0
    throttle: float = 0.0


@dataclass(frozen=True)
class FaultPlan:
    """The faults of every service, and the seed of their dice (None: a new run each time)."""

    services: dict[str, ServiceFaults] = field(default_factory=dict)
    seed: int | None = None

    def of(self, service: str) -> ServiceFaults:
        return self.services.get(service, ServiceFaults())


def parse_faults(spec: str) -> FaultPlan:
    """``KEY=VALUE,...`` as ``--faults`` takes it; one paragraph naming the first bad part."""
    values: dict[str, dict[str, float]] = {service: {} for service in SERVICES}
    seed: int | None = None
    for part in filter(None, (piece.strip() for piece in spec.split(","))):
        key, _, value = part.partition("=")
        key = key.strip().lower()
        if key == "seed":
            seed = _seed(value)
            continue
        services, fault = _split_key(key)
        number = _duration(value, part) if fault == "latency" else _share(value, part)
        for name in services:
            values[name][fault] = number
    return FaultPlan({name: ServiceFaults(given.get("5xx", 0.0), given.get("drop-answer", 0.0),
                                          given.get("latency", 0.0), given.get(THROTTLE, 0.0))
                      for name, given in values.items() if given}, seed)


def _split_key(key: str) -> tuple[list[str], str]:
    """The services a key names (all that take the fault, without a prefix) and its fault."""
    for service, faults in SERVICES.items():
        if key.startswith(service + "-") and key[len(service) + 1:] in faults:
            return [service], key[len(service) + 1:]
    services = [service for service, faults in SERVICES.items() if key in faults]
    if services:
        return services, key
    known = sorted({*(f for faults in SERVICES.values() for f in faults),
                    *(f"{s}-{f}" for s, faults in SERVICES.items() for f in faults)})
    raise EmrRolesError(f"--faults: {key!r} is not a fault the emulator injects; it knows "
                        f"{', '.join(known)} and seed.")


def _share(value: str, part: str) -> float:
    try:
        share = float(value)
    except ValueError:
        share = -1.0
    if not 0.0 <= share <= 1.0:
        raise EmrRolesError(f"--faults: {part!r} needs a share of requests from 0 to 1, such "
                            "as 0.1 for one in ten.")
    return share


def _duration(value: str, part: str) -> float:
    found = _DURATION.match(value.strip())
    if not found:
        raise EmrRolesError(f"--faults: {part!r} needs a duration such as 200ms or 0.5s.")
    number = float(found.group(1))
    return number / 1000 if found.group(2) == "ms" else number


def _seed(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise EmrRolesError(f"--faults: seed={value!r} must be a whole number.") from None


class Dice:
    """The faults' random numbers, one stream for the emulator, safe across threads."""

    def __init__(self, seed: int | None) -> None:
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def hits(self, share: float) -> bool:
        if share <= 0:
            return False
        with self._lock:
            return self._random.random() < share

    def choice(self, options: tuple[int, ...]) -> int:
        with self._lock:
            return self._random.choice(options)


NO_FAULTS = ServiceFaults()


# What a request meets: nothing, an answer in place of Livy's before it acts (502, 503), or
# after it acted (504, or DROP: no answer at all).
DROP = "drop"
_BEFORE = (502, 503)


class Injector:
    """A service's faults, decided per request with the emulator's dice."""

    def __init__(self, faults: ServiceFaults, dice: Dice) -> None:
        self.faults = faults
        self._dice = dice
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def decide(self) -> int | str | None:
        """The fault this request meets: a status, DROP, or None."""
        fault: int | str | None = None
        if self._dice.hits(self.faults.throttle):
            fault = THROTTLE
        elif self._dice.hits(self.faults.server_errors):
            fault = self._dice.choice((*_BEFORE, 504))
        elif self._dice.hits(self.faults.drop_answer):
            fault = DROP
        if fault is not None:
            with self._lock:
                self._counts[str(fault)] += 1
        return fault

    def counts(self) -> dict[str, int]:
        """The faults injected so far, by kind (``local status``: what a client rode out)."""
        with self._lock:
            return dict(self._counts)

    @staticmethod
    def before(fault: int | str | None) -> bool:
        """Whether the fault answers in the service's place, before it acts."""
        return fault in _BEFORE or fault == THROTTLE
