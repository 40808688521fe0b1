"""The omni command as a marketer runs it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omni_command import ROOT, omni


def test_validate_shipped_scenarios_exit_zero() -> None:
    done = omni("validate")
    assert done.returncode == 0, done.stderr
    assert "ok  abandoned_cart" in done.stdout


def test_validate_reports_file_line_and_hint(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("scenario: bad\ntrigger: {event: x}\nsteps:\n  - wiat: 1h\n")
    done = omni("validate", str(bad))
    assert done.returncode == 1
    assert f"{bad}:4:5: a step needs exactly one of" in done.stderr
    assert "did you mean 'wait'?" in done.stderr


def test_simulate_json_timeline() -> None:
    result = simulate_cart(
        {
            "id": "42",
            "email": "a@example.com",
            "phone": "+15005550006",
            "timezone": "UTC",
            "consents": {"email": True, "sms": True},
        },
        "cart_updated@0",
        "message_clicked@+30h",
    )
    assert result["scenario"] == "abandoned_cart" and result["outcome"] == "exhausted"
    assert result["customer_id"] == "42" and result["run_key"] == "customer-42/cart-c-981"
    sends = [
        (e["offset_s"], e["kind"], e["channel"])
        for e in result["timeline"]
        if e["kind"] in ("send", "skip")
    ]
    assert sends == [
        (3600, "send", "email"),
        (5 * 3600, "skip", "push"),
        (5 * 3600, "skip", "telegram"),
        (5 * 3600, "send", "sms"),
    ]
    kinds = {e["kind"] for e in result["timeline"]}
    assert kinds <= {"send", "skip", "event", "exit"}


def test_simulate_rejects_bad_event_syntax() -> None:
    done = omni("simulate", "abandoned_cart", "--event", "cart_updated@soon")
    assert done.returncode == 2
    assert "cart_updated@soon" in done.stderr


def test_simulate_names_each_broken_contact_field() -> None:
    """``--contact`` is checked by the API's contact model: every problem, on one line (the
    hand-written check crashed on ``consents: []`` and kept a string ``attributes``)."""
    bad = {"id": "42", "phone": "0151 1234567", "consents": [], "attributes": "vip", "nick": 1}
    done = omni("simulate", "abandoned_cart", "--contact", json.dumps(bad))
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("omni simulate: --contact: phone: a phone number must be international")
    assert "consents: Input should be a valid dictionary" in line
    assert "attributes: Input should be a valid dictionary" in line
    assert "nick: Extra inputs are not permitted" in line


def simulate_cart(contact: dict[str, object], *events: str) -> dict[str, Any]:
    """``omni simulate abandoned_cart --json`` from a fixed morning, parsed."""
    args = [
        "simulate",
        "abandoned_cart",
        "--json",
        "--start",
        "2099-01-05T10:00:00Z",
        "--contact",
        json.dumps(contact),
    ]
    for event in events:
        args += ["--event", event]
    done = omni(*args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_validate_shows_sms_segments() -> None:
    done = omni("validate")
    assert "sms abandoned_cart/last_call [default]: 1 segment(s), GSM-7" in done.stdout
    assert "sms abandoned_cart/last_call [ru]: 1 segment(s), UCS-2" in done.stdout


def test_simulate_shows_sms_segments() -> None:
    result = simulate_cart(
        {
            "id": "42",
            "phone": "+15005550006",
            "locale": "ru",
            "timezone": "UTC",
            "consents": {"sms": True},
        }
    )
    sms = [e for e in result["timeline"] if e["channel"] == "sms"]
    assert sms[0]["detail"].startswith("1 segment(s), UCS-2")


def test_diagram_writes_the_consoles_svg(tmp_path: Path) -> None:
    from orchestrator.console.diagram import diagram
    from orchestrator.language.loader import load_or_raise

    out = tmp_path / "flow.svg"
    done = omni("diagram", "browse_followup", "-o", str(out))
    assert done.returncode == 0, done.stderr
    shipped = load_or_raise([ROOT / "scenarios"], ROOT / "templates")["browse_followup"]
    assert out.read_text(encoding="utf-8") == diagram(shipped) + "\n"
    printed = omni("diagram", "browse_followup")
    assert printed.stdout == out.read_text(encoding="utf-8")
    unknown = omni("diagram", "nope")
    assert unknown.returncode == 2 and "known: abandoned_cart" in unknown.stderr


def drop_event(offset: str, product: str, name: str, price: float) -> str:
    url = f"https://shop.example/p/{product}"
    item = {"id": product, "name": name, "url": url}
    data = {"product": item, "price": price, "was": 50, "currency": "EUR"}
    return f"price_dropped@{offset}:{json.dumps(data)}"


def test_simulate_scripts_several_drops_into_one_digest() -> None:
    """``omni simulate price_drop_digest`` with three scripted drops (one product twice, a
    name with markup): one message at the window's end, newest price first, one line per
    product; for a customer without email, one SMS with its segments."""
    drops = [
        drop_event("0", "p-1", "Shirt", 40),
        drop_event("+5m", "p-2", "Hat <b>&", 9),
        drop_event("+10m", "p-1", "Shirt", 35),
    ]
    args = ["simulate", "price_drop_digest", "--json", "--start", "2099-01-05T10:00:00Z"]
    for event in drops:
        args += ["--event", event]
    done = omni(*args)
    assert done.returncode == 0, done.stderr
    timeline = json.loads(done.stdout)["timeline"]
    assert [e["offset_s"] for e in timeline if e["kind"] == "event"] == [0, 300, 600]
    (send,) = [e for e in timeline if e["kind"] in ("send", "skip")]
    assert (send["offset_s"], send["channel"], send["status"]) == (1800, "email", "sent")
    preview = send["preview"]
    assert preview.startswith("2 items you watch are cheaper now | ")
    assert preview.index("Shirt: €35.00") < preview.index("Hat <b>&: €9.00"), preview
    assert "€40.00" not in preview

    contact = {"id": "7", "phone": "+15005550006", "timezone": "UTC", "consents": {"sms": True}}
    sms = omni(
        *args[:2],
        "--start",
        "2099-01-05T10:00:00Z",
        "--contact",
        json.dumps(contact),
        *[x for e in drops for x in ("--event", e)],
    )
    assert sms.returncode == 0, sms.stderr
    assert "2 items you watch are cheaper, e.g. Shirt now €35.00" in sms.stdout
    sent = [line.split()[6:8] for line in sms.stdout.splitlines() if " send " in line]
    assert sent == [["send", "sms"]], sms.stdout
    assert "(1 segment(s), GSM-7" in sms.stdout
