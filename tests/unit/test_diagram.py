"""The scenario diagram: well-formed SVG with a box for every step, text always escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from harness import write_scenario

from orchestrator.console.diagram import diagram
from orchestrator.language.loader import load_or_raise
from orchestrator.language.model import iter_steps

ROOT = Path(__file__).resolve().parent.parent.parent
SVG = "{http://www.w3.org/2000/svg}"


def step_ids(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return [g.attrib["data-step"] for g in root.iter(f"{SVG}g") if "data-step" in g.attrib]


def test_every_shipped_scenario_draws_every_step_once() -> None:
    for s in load_or_raise([ROOT / "scenarios"], ROOT / "templates").values():
        drawn = step_ids(diagram(s))
        expected = ["trigger"]
        for step in iter_steps(s.steps):
            expected.append(step.path)
            expected += [f"{step.path}.rung{i + 1}" for i in range(len(step.rungs))]
        assert sorted(set(drawn) - {"end"}) == sorted(expected), s.id
        assert len(drawn) == len(set(drawn)), s.id


def test_branches_stops_and_notes(tmp_path: Path) -> None:
    s = write_scenario(
        tmp_path,
        """
        scenario: shapes
        title: "<script>alert(1)</script> & co"
        trigger: {event: signed_up, when: "source == 'x<y'"}
        exit: {event: left}
        steps:
          - if: not opened
            then:
              - stop: quiet <b>customer</b>
          - wait_for: {event: order_placed, timeout: 1d}
            on_event:
              - send: {email: t/hello}
            on_timeout:
              - stop: gone
        sample:
          signed_up: {source: web}
        """,
        {"t/hello/email": "{% block subject %}Hi{% endblock %}{% block html %}x{% endblock %}"},
    )
    svg = diagram(s, {"steps.2.on_event.1": "email: sent 3 <& more>"})
    ET.fromstring(svg)  # well-formed: every text is escaped
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "Stop: quiet &lt;b&gt;customer&lt;/b&gt;" in svg
    assert "email: sent 3 &lt;&amp; more&gt;" in svg
    assert ">on event<" in svg and ">on timeout<" in svg and ">then<" in svg and ">else<" in svg
    assert "exit → exited" in svg


def test_wait_until_offsets_and_names_are_drawn(tmp_path: Path) -> None:
    """Issue 23: ``- 24h`` and ``- 15m`` are two different boxes; a step's ``name:`` is its
    title; internal paths stay in data attributes, never in the drawn text."""
    s = write_scenario(
        tmp_path,
        """
        scenario: offsets
        trigger: webinar_registered
        steps:
          - wait_until: webinar.starts_at - 24h
          - wait_until: webinar.starts_at - 15m
            name: Just before it starts
          - name: Reminder ladder
            escalate:
              - email: t/hello
                wait: 1h
              - email: t/hello
        sample:
          webinar_registered: {webinar: {starts_at: "2026-12-03T17:00:00Z"}}
        """,
        {"t/hello/email": "{% block subject %}Hi{% endblock %}{% block html %}x{% endblock %}"},
    )
    root = ET.fromstring(diagram(s))
    texts = {
        g.attrib["data-step"]: [t.text for t in g.iter(f"{SVG}text")]
        for g in root.iter(f"{SVG}g")
        if "data-step" in g.attrib
    }
    assert texts["steps.1"] == ["Wait until", "24 h before webinar.starts_at"]
    assert texts["steps.2"] == ["Just before it starts", "15 min before webinar.starts_at"]
    assert texts["steps.3"][0] == "Reminder ladder"
    drawn = " ".join(t for ts in texts.values() for t in ts if t)
    assert "steps." not in drawn and "rung1" not in drawn


def test_sends_and_rungs_held_for_their_best_time_say_so() -> None:
    s = load_or_raise([ROOT / "docs" / "examples"], ROOT / "templates")["best_time_cart"]
    svg = diagram(s)
    ET.fromstring(svg)
    boxes = {
        g.attrib["data-step"]: "".join(g.itertext())
        for g in ET.fromstring(svg).iter(f"{SVG}g")
        if "data-step" in g.attrib
    }
    assert "best hour in 24 h" in boxes["steps.2.best_time.1"]
    assert "best hour" not in boxes["steps.2.at_once.1"]


def test_a_held_rung_is_labelled(tmp_path: Path) -> None:
    s = write_scenario(
        tmp_path,
        """
        scenario: ladder
        trigger: {event: signed_up}
        steps:
          - escalate:
              - email: t/hello
                wait: 1d
              - sms: t/hello
                at: best_time
                within: 12h
        sample:
          signed_up: {source: web}
        """,
        {
            "t/hello/email": "{% block subject %}Hi{% endblock %}{% block html %}x{% endblock %}",
            "t/hello/sms": "{% block text %}Hi{% endblock %}",
        },
    )
    svg = diagram(s)
    assert "2. sms · best hour in 12 h" in svg and "1. email<" in svg
