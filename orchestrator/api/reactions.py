"""Turn tracking and provider feedback into run events (reactions stop escalation ladders)."""

from __future__ import annotations

from orchestrator.api.services import Services
from orchestrator.messages import EventSignal
from orchestrator.router import Routed


async def to_run(
    svc: Services, run_id: str, name: str, event_id: str, customer_id: str, data: dict[str, object]
) -> bool:
    """Signal one run; False if it has ended (the reaction is still recorded by the caller)."""
    routed = Routed()
    await svc.router.signal(
        run_id,
        EventSignal(name=name, event_id=event_id, customer_id=customer_id, data=data),
        routed,
    )
    return bool(routed.signalled)


async def to_customer_runs(
    svc: Services, customer_id: str, name: str, event_id: str, data: dict[str, object]
) -> list[str]:
    """Signal every run of the customer (a reply is a reaction to whatever they received)."""
    routed = Routed()
    event = EventSignal(name=name, event_id=event_id, customer_id=customer_id, data=data)
    for wid in await svc.runs.all_for_customer(customer_id):
        await svc.router.signal(wid, event, routed)
    return routed.signalled
