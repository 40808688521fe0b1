"""The API test stack's handle (kept out of conftest.py: test modules import it)."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from run_endings import Calls

from channels.recording import RecordingChannel
from orchestrator.api.services import Services


@dataclass
class Api:
    client: httpx.AsyncClient
    key: str
    svc: Services
    providers: dict[str, RecordingChannel]
    #: Unique per test: workflow ids must not collide across tests on one dev server.
    cart: str = ""
    #: The Temporal calls the API has made (its client counts them).
    calls: Calls = field(default_factory=Calls)

    @property
    def wid(self) -> str:
        return self.wid_for("42")

    def wid_for(self, customer: str) -> str:
        """The run of ``customer`` for this test's cart (a run belongs to one customer)."""
        return f"quick_cart/customer-{customer}/cart-{self.cart}"

    def event(
        self, event_id: str, name: str = "cart_updated", customer: str = "42", **extra: object
    ) -> dict[str, object]:
        data = {"cart": {"id": self.cart, "total": 30}}
        return {
            "name": name,
            "customer_id": customer,
            "event_id": f"{self.cart}-{event_id}",
            "data": data,
            **extra,
        }

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}
