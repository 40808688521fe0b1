"""Console parts without a server: Telegram HTML made safe, SMS links, encrypted references,
the visibility query that copies run outcomes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

from orchestrator.console.outcomes import visibility_query
from orchestrator.console.refs import ref, unref
from orchestrator.console.sanitize import linkify, telegram_html
from orchestrator.console.settings import ConsoleSettings
from orchestrator.console.state import Console


def console(secret: bytes = b"s" * 32) -> Console:
    return Console(
        svc=cast(Any, None), funnel=cast(Any, None), messages=cast(Any, None), secret=secret
    )


def test_telegram_html_keeps_its_tags_and_nothing_else() -> None:
    shown = telegram_html(
        '<b>Hi</b> <script>alert(1)</script><a href="javascript:x">no</a>'
        '<a href="https://shop.example/c">cart</a> <img src=x onerror=alert(1)> 1 < 2 & <i>open'
    )
    assert "<script" not in shown and "<img" not in shown and "javascript:" not in shown
    # A link to anything but http(s) keeps its text and loses its target.
    assert shown.startswith("<b>Hi</b> alert(1)<a ") and shown.count("href=") == 1
    link = '<a href="https://shop.example/c" target="_blank" rel="noopener noreferrer">cart</a>'
    assert link in shown
    relative = telegram_html('<a href="/console/settings">x</a> <!-- note --> <b onclick="x">y</b>')
    assert "href" not in relative and "note" not in relative and relative.endswith(" <b>y</b>")
    assert "1 &lt; 2 &amp; <i>open</i>" in shown  # unclosed tags are closed


def test_sms_links_become_links_and_the_rest_stays_text() -> None:
    shown = linkify("<b>Sale</b> http://127.0.0.1:8000/s/abcd1234 now")
    assert shown.startswith('&lt;b&gt;Sale&lt;/b&gt; <a href="http://127.0.0.1:8000/s/abcd1234"')


def test_references_hide_the_value_and_refuse_tampering() -> None:
    c = console()
    token = ref(c, "customer", "alex@example.com")
    assert "alex" not in token and "example" not in token
    assert unref(c, "customer", token) == "alex@example.com"
    assert unref(c, "message", token) is None  # another kind
    assert unref(c, "customer", token[:-6] + "AAAAAA") is None
    assert unref(console(b"t" * 32), "customer", token) is None  # another secret
    expired = replace(c, settings=ConsoleSettings(session_hours=-1))
    assert unref(expired, "customer", token) is None


def test_visibility_query_copies_new_and_newly_closed_runs() -> None:
    assert visibility_query(None, None) == "WorkflowType = 'ScenarioRun'"
    start = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert visibility_query(start, None) == (
        "WorkflowType = 'ScenarioRun' AND (StartTime >= '2026-11-25T11:59:00Z' "
        "OR ExecutionStatus != 'Running')"
    )
    assert visibility_query(start, start) == (
        "WorkflowType = 'ScenarioRun' AND (StartTime >= '2026-11-25T11:59:00Z' "
        "OR CloseTime >= '2026-11-25T11:59:00Z')"
    )
