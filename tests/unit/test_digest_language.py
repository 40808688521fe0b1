"""The ``collect`` step in the language: parsed, checked against the samples with
file:line:column and a hint, in the JSON schema, drawn in the diagram and labelled."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from validation_cases import check, only

from orchestrator.console.diagram import diagram
from orchestrator.engine.labels import step_label
from orchestrator.language.loader import load_all
from orchestrator.language.model import Collect
from orchestrator.language.schema import scenario_schema

DIGEST = """\
scenario: s
trigger: {event: price_dropped, again: signal}
steps:
  - collect: {event: price_dropped, for: 30m, max: 20, key: product.id}
  - send: {email: t/digest}
sample:
  price_dropped: {product: {id: p-1, name: Shirt}, price: 3}
"""
TEMPLATES = {
    "t/digest/email.j2": "{% block subject %}{{ collected|length }} drops{% endblock %}"
    "{% block html %}{% for i in collected %}{{ i.product.name }}{% endfor %}{% endblock %}"
}


def test_collect_is_read_labelled_and_drawn(tmp_path: Path) -> None:
    assert check(tmp_path, DIGEST, TEMPLATES) == []
    scenario = load_all([tmp_path / "scenarios"], tmp_path / "templates")[0][0]
    step = scenario.steps[0]
    assert step.collect == Collect(event="price_dropped", window_s=1800, max=20, key="product.id")
    assert step_label(step) == "collect price_dropped for 30m"
    texts = " ".join("".join(t.itertext()) for t in ET.fromstring(diagram(scenario)).iter())
    assert "collect price_dropped" in texts and "for 30 min (max 20)" in texts
    assert "price_dropped" in scenario.listens_to()


@pytest.mark.parametrize(
    ("old", "new", "message", "hint", "spot"),
    [
        (
            "event: price_dropped, for",
            "event: price_droped, for",
            "collect: unknown event 'price_droped': no sample data describes it "
            "(events with samples: price_dropped)",
            "add 'sample: {price_droped: {...}}'",
            (4, 22),
        ),
        ("for: 30m", "for: half an hour", "for: 'half an hour' is not a duration", "", (4, 42)),
        ("for: 30m", "for: 8d", "for: a digest window is at most 7d", "", (4, 42)),
        ("max: 20", "max: 101", "max must be a whole number from 1 to 100, not 101", "", (4, 52)),
        ("max: 20", "max: 0", "max must be a whole number from 1 to 100, not 0", "", (4, 52)),
        (
            "key: product.id",
            "key: product.sku",
            "collect: key 'product.sku' is not in the sample data of 'price_dropped'",
            "e.g. key: product.id",
            (4, 61),
        ),
        (
            "again: signal",
            "again: restart",
            "collect: later 'price_dropped' events would restart the run",
            "again: signal",
            (4, 22),
        ),
    ],
)
def test_a_bad_collect_points_at_its_value_with_a_hint(
    tmp_path: Path, old: str, new: str, message: str, hint: str, spot: tuple[int, int]
) -> None:
    p = only(check(tmp_path, DIGEST.replace(old, new), TEMPLATES))
    assert message in p.message and hint in p.hint
    assert (p.line, p.column) == spot


def test_templates_are_checked_against_the_collected_sample(tmp_path: Path) -> None:
    bad = {"t/digest/email.j2": TEMPLATES["t/digest/email.j2"].replace("i.product.name", "i.sku")}
    p = only(check(tmp_path, DIGEST, bad))
    assert "sku" in p.message


def test_the_schema_knows_collect() -> None:
    validator = jsonschema.Draft202012Validator(scenario_schema())
    base = {"scenario": "s", "trigger": "price_dropped"}
    ok = {"collect": {"event": "price_dropped", "for": "30m", "max": 20, "key": "product.id"}}
    assert list(validator.iter_errors({**base, "steps": [ok]})) == []
    for bad in ({"event": "x", "for": "30m", "max": 101}, {"event": "x"}, {"for": "1h"}):
        assert list(validator.iter_errors({**base, "steps": [{"collect": bad}]})), bad
