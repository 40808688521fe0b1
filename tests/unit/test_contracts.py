"""Issue 11: event contracts inferred from `sample:` and the fields templates/conditions read."""

from __future__ import annotations

from pathlib import Path

from orchestrator.language.contracts import check_event, needs
from orchestrator.language.loader import load_or_raise

ROOT = Path(__file__).resolve().parents[2]
CART = load_or_raise([ROOT / "scenarios"], ROOT / "templates")["abandoned_cart"]


def cart(items: list[dict[str, object]]) -> dict[str, object]:
    return {
        "cart": {"id": "c", "total": 9, "currency": "EUR", "url": "https://s.t/c", "items": items}
    }


def test_loop_fields_are_part_of_the_contract() -> None:
    paths = {(n.path, n.user) for n in needs(CART)}
    assert (("cart", "items", "[]", "qty"), "abandoned_cart/reminder email") in paths
    assert (("order", "cart_id"), "abandoned_cart goal") in paths


def test_quantity_instead_of_qty_is_named_with_its_index_and_user() -> None:
    contract = needs(CART)
    data = cart([{"name": "a", "qty": 1}, {"name": "b", "quantity": 2}])
    assert check_event(contract, "cart_updated", data) == [
        "cart.items[1].qty missing, needed by abandoned_cart/reminder email"
    ]
    assert check_event(contract, "cart_updated", cart([{"name": "a", "qty": 1}])) == []


def test_other_customers_shapes_and_hostile_data() -> None:
    contract = needs(CART)
    assert "cart.items missing, needed by abandoned_cart/reminder email" in check_event(
        contract,
        "cart_updated",
        cart("not a list"),  # type: ignore[arg-type]
    )
    assert check_event(contract, "cart_updated", {"cart": [1, 2]})[0].startswith("cart.")
    assert check_event(contract, "order_placed", {"order": {"cart_id": "c"}}) == []
    assert check_event(contract, "order_placed", {"order": None}) == [
        "order missing, needed by abandoned_cart goal"
    ]
    assert check_event(contract, "nobody_uses_this", {}) == []


def test_fields_not_in_the_sample_are_not_demanded() -> None:
    # `cart.items[].price` is in the sample but no template reads it: not part of the contract.
    assert all(n.path[-1] != "price" for n in needs(CART))
