"""One trigger's share of a run. A run restarts its steps when its trigger comes again
(``again: restart``) or when a digest's window missed events: each restart is a new
generation, numbered, with the trigger that began it and what the customer did since."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from orchestrator.engine.ids import chain_ref
    from orchestrator.engine.messages import EventSignal
    from orchestrator.language.model import REACTION_EVENTS


def run_ref() -> str:
    """This run, distinct from earlier runs of the same workflow id and stable across
    retries, crashes and continue-as-new: the send keys' prefix (see README, "Send keys")."""
    info = workflow.info()
    return chain_ref(info.workflow_id, info.first_execution_run_id or info.run_id)


class Generation:
    def __init__(self, number: int, trigger: EventSignal | None) -> None:
        self.number = number
        #: The event that began this generation (None while the run waits for its first).
        self.trigger = trigger
        #: The data the steps act on: the trigger's, or the event a ``wait_for`` matched.
        self.latest: dict[str, Any] = {}
        #: Events handled so far, numbered in order. The count runs on across generations, so
        #: a number taken before a restart still compares with the ones after.
        self.seq = 0
        #: This generation's events the steps may wait for, and its reactions (opened,
        #: clicked, replied), each with its number.
        self.events: list[tuple[int, EventSignal]] = []
        self.reactions: list[tuple[int, str]] = []

    def send_key(self, path: str, channel: str) -> str:
        """The idempotency key of one send: the same across retries and continue-as-new,
        distinct per generation, step and channel."""
        return f"{run_ref()}/g{self.number}/{path}/{channel}"

    def restart(self) -> None:
        """The next generation; its trigger is set already. What was heard starts afresh."""
        self.number += 1
        self.reactions.clear()
        self.events.clear()

    def engagement(self) -> dict[str, bool]:
        return {k: any(r == k for _, r in self.reactions) for k in REACTION_EVENTS.values()}

    def reacted(self, kinds: list[str], since: int = 0) -> bool:
        """A reaction of one of ``kinds`` came after event number ``since``."""
        return any(seq > since and kind in kinds for seq, kind in self.reactions)

    def heard_after(self, seq: int) -> Callable[[], bool]:
        """A wait's condition: an event numbered after ``seq`` has been handled."""
        return lambda: self.seq > seq

    def since(self, seq: int) -> list[EventSignal]:
        return [ev for n, ev in self.events if n > seq]
