"""The least a signal-with-start workflow can do: take the signal and finish (the baseline
for bench/engine.py; its own module so the workflow sandbox can import it)."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio import workflow


@dataclass
class Ping:
    event_id: str


@workflow.defn(name="BaselineSignalWithStart")
class Baseline:
    def __init__(self) -> None:
        self.got: Ping | None = None

    @workflow.signal
    def ping(self, ping: Ping) -> None:
        self.got = ping

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.got is not None)
        assert self.got is not None
        return self.got.event_id
