"""The fault scheduler: three lanes inject faults at random (seeded) moments while the
client uploads — services SIGKILLed and started again; RabbitMQ restarted or its
connections closed and Postgres stopped immediately; fake destinations answering
429/5xx or hanging. Each lane deals from a shuffled deck of its faults, so every kind
is injected at least once before any repeats, and every lane deals its whole first
deck even if the uploads finish sooner."""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from tests.chaos.broker_admin import close_all_connections
from tests.chaos.environment import ChaosEnvironment
from tests.fakes.control import FakeControl
from tests.fakes.faults import Fault

log = logging.getLogger("chaos")

KILL = "SIGKILL service"
RABBIT_RESTART = "RabbitMQ restart"
RABBIT_CLOSE = "RabbitMQ close_all_connections"
PG_RESTART = "Postgres immediate stop + start"
DEST_429 = "destination 429"
DEST_5XX = "destination 5xx"
DEST_HANG = "destination hang"

INFRA_FAULTS = (RABBIT_RESTART, RABBIT_CLOSE, PG_RESTART)
DESTINATION_FAULTS = (DEST_429, DEST_5XX, DEST_HANG)


@dataclass(frozen=True)
class InjectedFault:
    kind: str
    target: str
    at: float  # wall clock (time.time()), comparable with the fakes' records
    note: str = ""


@dataclass
class FaultPlanConfig:
    """What the scheduler may inject, and how often (seconds between faults per lane)."""

    services: Sequence[str]
    infra: Sequence[str] = INFRA_FAULTS
    destinations: Sequence[str] = ("imgur", "flickr", "gphotos")
    destination_faults: Sequence[str] = DESTINATION_FAULTS
    gap: tuple[float, float] = (2.0, 8.0)
    # After the first deck, keep injecting until the uploads finish (False: one deck only).
    repeat: bool = True


@dataclass
class FaultLog:
    injected: list[InjectedFault] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # a fault that could not be undone cleanly

    def add(self, kind: str, target: str, note: str = "") -> InjectedFault:
        fault = InjectedFault(kind, target, time.time(), note)
        self.injected.append(fault)
        log.info("fault: %s %s %s", kind, target, note)
        return fault

    def kills_of(self, service: str) -> list[float]:
        return [f.at for f in self.injected if f.kind == KILL and f.target == service]


class FaultScheduler:
    def __init__(self, env: ChaosEnvironment, config: FaultPlanConfig, seed: int) -> None:
        self.env = env
        self.config = config
        self.rng = random.Random(seed)
        self.log = FaultLog()
        self.uploads_done = asyncio.Event()

    async def run(self) -> FaultLog:
        """Inject faults until the uploads are done; return what was injected."""
        lanes: list[tuple[list[str], Callable[[str], Awaitable[None]]]] = [
            (list(self.config.services), self._kill_and_restart),
            (list(self.config.infra), self._infra_fault),
            (
                [
                    f"{d}|{k}"
                    for d in self.config.destinations
                    for k in self.config.destination_faults
                ],
                self._destination_fault,
            ),
        ]
        await asyncio.gather(*(self._lane(deck, inject) for deck, inject in lanes if deck))
        for url in self.env.fakes.values():
            await FakeControl(url).set_faults()  # leave the destinations healthy
        return self.log

    async def _lane(self, deck: list[str], inject: Callable[[str], Awaitable[None]]) -> None:
        round_number = 0
        while round_number == 0 or (self.config.repeat and not self.uploads_done.is_set()):
            hand = deck[:]
            self.rng.shuffle(hand)
            for card in hand:
                if round_number > 0 and self.uploads_done.is_set():
                    return
                await self._pause()
                await inject(card)
            round_number += 1

    async def _pause(self) -> None:
        low, high = self.config.gap
        try:
            # A random moment: the gap, cut short by nothing — but stop waiting early if
            # the uploads end, so no lane idles past them.
            await asyncio.wait_for(self.uploads_done.wait(), self.rng.uniform(low, high))
        except TimeoutError:
            return

    # -- the faults --------------------------------------------------------------

    async def _kill_and_restart(self, service: str) -> None:
        """SIGKILL, start it again, and let this lane go on only once it is ready: the
        fault rate then follows how fast the machine recovers, so a slow (loaded)
        machine is not killed into never serving. Not ready in time is no finding
        here; the checker waits for every service at the end."""
        stack = self.env.stack
        async with stack.lock(service):
            self.log.add(KILL, service)
            await asyncio.to_thread(stack.kill, service, signal.SIGKILL)
            stack.respawn(service)
        try:
            await stack.wait_ready(service, timeout=120)
        except (RuntimeError, TimeoutError) as e:
            log.warning("%s not ready yet after its restart: %s", service, str(e)[:200])

    async def _infra_fault(self, kind: str) -> None:
        env = self.env
        if kind == RABBIT_RESTART:
            # An orderly stop (SIGTERM): after a SIGKILL this single RabbitMQ 3.10 node
            # keeps its quorum queues leaderless for a long time (see rabbit_node.py).
            self.log.add(kind, "rabbitmq")
            await asyncio.to_thread(env.rabbit.restart)
        elif kind == RABBIT_CLOSE:
            try:
                await close_all_connections(env.rabbit, "chaos", timeout=120)
            except (RuntimeError, TimeoutError) as e:
                # Not injected (e.g. the node still booting): no finding about photobus.
                log.warning("close_all_connections not injected: %r", e)
                return
            self.log.add(kind, "rabbitmq")
        elif kind == PG_RESTART:
            down_for = self.rng.uniform(0.5, 4.0)
            self.log.add(kind, "postgres", f"down {down_for:.1f}s")
            await asyncio.to_thread(env.pg.stop, immediate=True)
            await asyncio.sleep(down_for)  # the outage itself, not a wait for a condition
            await asyncio.to_thread(env.pg.start)
        else:
            raise ValueError(kind)

    async def _destination_fault(self, card: str) -> None:
        destination, kind = card.split("|")
        count = self.rng.randint(1, 4)
        if kind == DEST_429:
            faults = [Fault.status(429, retry_after=str(self.rng.randint(1, 3)))] * count
        elif kind == DEST_5XX:
            faults = [Fault.status(self.rng.choice((500, 502, 503)))] * count
        else:
            faults = [Fault.hang()] * min(count, 2)
        self.log.add(kind, destination, f"next {len(faults)} upload requests")
        await FakeControl(self.env.fakes[destination]).set_faults(queue=faults)
