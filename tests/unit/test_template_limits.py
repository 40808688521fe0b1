"""Templates and conditions under resource limits: each hostile template stops at its limit,
fast, naming the limit and the line; omni validate reports the same; a heavy render runs off
the event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from accepting import AcceptingChannel
from temporalio.testing import ActivityEnvironment

from orchestrator.engine.activities import Activities
from orchestrator.engine.contacts import Contact, InMemoryDirectory
from orchestrator.engine.messages import EvalRequest, SendRequest
from orchestrator.engine.sendlog import InMemorySendLog
from orchestrator.language.expressions import ExpressionError, evaluate
from orchestrator.language.limits import Limits
from orchestrator.language.loader import load_all
from orchestrator.language.templates import TemplateProblem, render

#: template body (on line 2 of the block) -> the limit it must hit
HOSTILE = {
    "{{ 9**(9**9) }}": "number",
    "{{ 9**999999 }}": "number",
    "{{ 'a' * 10**9 }}": "size",
    "{{ ([1, 2] * 10**8)|length }}": "size",
    "{{ 'x'|center(10**9) }}": "size",
    "{{ 'x'.ljust(1000000000) }}": "size",
    "{{ '{:>999999999}'.format(1) }}": "size",
    "{{ '%999999999d' % 1 }}": "size",
    "{{ ('a' * 1000).replace('a', 'a' * 1000).replace('a', 'bb') }}": "size",
    "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}": "size",
    "{% set x = [0] %}{% for i in range(64) %}{{ x.extend(x) or '' }}{% endfor %}": "size",
    "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}": "loop",
    "{% for i in cart.lines %}{% for j in cart.lines %}{% endfor %}{% endfor %}": "loop",
    "{% for i in range(99999) %}{{ 'Ünïcødé ' * 100 }}{% endfor %}": "output",
    "{% for i in range(99999) %}<p>some fixed template text, repeated</p>{% endfor %}": "output",
    "{% set big %}{% for i in range(99999) %}{{ 'x' * 999 }}{% endfor %}{% endset %}": "output",
}
CART = {"cart": {"lines": [{"name": f"<b>item {i}</b> & co", "price": i} for i in range(12_000)]}}


def sms(body: str) -> str:
    return "{% block text %}Hello\n" + body + "{% endblock %}"


@pytest.mark.parametrize(("body", "limit"), HOSTILE.items(), ids=range(len(HOSTILE)))
def test_each_hostile_template_stops_at_its_limit_quickly(body: str, limit: str) -> None:
    with pytest.raises(TemplateProblem) as info:
        render("sms", sms(body), CART)
    assert info.value.limit == limit, str(info.value)
    assert info.value.line == 2 and f"{limit} limit exceeded" in str(info.value)


def test_a_cpu_bound_render_stops_at_the_clock() -> None:
    # Exponential recursion: no loop, no big value, only time.
    body = (
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}"
    )
    started = time.perf_counter()
    with pytest.raises(TemplateProblem) as info:
        render("sms", sms(body), {}, limits=Limits(max_seconds=0.3))
    # Stopped by the clock (how soon after is bench territory), not by another limit.
    assert time.perf_counter() - started >= 0.3
    assert info.value.limit == "time"


def test_valid_data_still_renders_within_the_limits() -> None:
    body = "{% for i in cart.lines %}{{ i.name }} {{ i.price * 2 }}; {% endfor %}{{ 2 ** 64 }}"
    text = render("sms", sms(body), CART).text
    assert text.startswith("Hello\n<b>item 0</b> & co 0; ") and text.endswith(
        "18446744073709551616"
    )


@pytest.mark.parametrize(
    ("source", "limit"),
    [("9**(9**9) > 1", "number"), ("('a' * 10**9)|length > 0", "size")],
)
def test_conditions_run_under_the_same_limits(source: str, limit: str) -> None:
    with pytest.raises(ExpressionError, match=f"{limit} limit exceeded"):
        evaluate(source, {})


def test_omni_validate_reports_template_line_and_limit(tmp_path: Path) -> None:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "s.yaml").write_text(
        "scenario: s\ntrigger: {event: cart_updated}\nsteps:\n  - send: {sms: t/x}\n"
        "sample:\n  cart_updated: {cart: {id: c-1}}\n",
        encoding="utf-8",
    )
    folder = tmp_path / "templates" / "t" / "x"
    folder.mkdir(parents=True)
    nested = "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"
    (folder / "sms.j2").write_text(sms(nested), encoding="utf-8")
    (folder / "sms.ru.j2").write_text(sms("{{ 'a' * 10**9 }}"), encoding="utf-8")
    _, problems = load_all([tmp_path / "scenarios"], tmp_path / "templates")
    shown = sorted(str(p) for p in problems)
    assert len(shown) == 2, shown
    assert shown[0].startswith(f"{folder / 'sms.j2'}:2:")
    assert "loop limit" in shown[0] and "100,000 loop iterations" in shown[0]
    assert shown[1].startswith(f"{folder / 'sms.ru.j2'}:2:") and "size limit" in shown[1]


def request(trigger: Mapping[str, object], body: str, customer: str) -> SendRequest:
    return SendRequest(
        key=f"s/{customer}/g0/steps.1/sms",
        scenario="s",
        category="transactional",
        step="steps.1",
        channel="sms",
        template="t/x",
        customer_id=customer,
        now=datetime(2026, 11, 24, 12, tzinfo=UTC).isoformat(),
        run={"id": f"s/{customer}"},
        trigger=dict(trigger),
        event={},
        sources={"": sms(body)},
    )


async def test_heavy_renders_do_not_block_the_event_loop() -> None:
    contacts = [Contact.model_validate({"id": f"c{i}", "phone": "+15005550006"}) for i in range(3)]
    provider = AcceptingChannel("sms")

    def activities(limits: Limits) -> Activities:
        return Activities(
            directory=InMemoryDirectory(contacts),
            send_log=InMemorySendLog(),
            channels={"sms": provider},
            template_limits=limits,
        )

    heavy = "{% for i in cart.lines %}{{ i.name|upper|replace('co', 'CO') }}{% endfor %}"
    runaway = (
        "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(60) }}"
    )
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    # The runaway runs until its time limit stops it: on the loop, it would stall the loop
    # for the whole limit, so a gap as long as the limit is the definite sign (shorter
    # stalls are the machine's load, not ours).
    limit = 2.0
    normal, short = activities(Limits()), activities(Limits(max_seconds=limit))
    results = await asyncio.gather(
        ActivityEnvironment().run(normal.send, request(CART, heavy, "c0")),
        ActivityEnvironment().run(normal.send, request(CART, heavy * 2, "c1")),
        ActivityEnvironment().run(short.send, request({}, runaway, "c2")),
    )
    tick.cancel()
    assert [r.status for r in results] == ["sent", "sent", "failed"], results
    assert results[2].reason.startswith("template_error") and "time limit" in results[2].reason
    assert len(provider.sent) == 2 and len(provider.sent[0].message.text) > 100_000
    assert len(gaps) > 10 and max(gaps) < limit, f"the event loop stalled for {max(gaps):.2f} s"


async def test_heavy_condition_is_evaluated_off_the_loop() -> None:
    acts = Activities(directory=InMemoryDirectory([]), send_log=InMemorySendLog(), channels={})
    result = await ActivityEnvironment().run(
        acts.evaluate,
        EvalRequest(
            kind="condition", customer_id="c", expression="9**(9**9) > 0", trigger={}, event={}
        ),
    )
    assert "number limit exceeded" in result.error
