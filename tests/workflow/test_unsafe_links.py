"""link() makes links of absolute http(s) URLs only: anything else is a template error, at
validate time (when the sample makes the URL) and at send time (the send fails with
template_error, the run goes on) — in an email href, a push URL, a Telegram button and an SMS."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import FULL_CONTACT, Run, write_scenario
from temporalio.testing import WorkflowEnvironment

from orchestrator.engine.contacts import Contact
from orchestrator.language.loader import load_all
from orchestrator.language.templates import TemplateProblem, helpers, render

LADDER = """
scenario: links
trigger: {event: cart_updated, per: cart.id}
steps:
  - escalate:
      - email: links/m
        wait: 1h
      - push: links/m
        wait: 1h
      - telegram: links/m
        wait: 1h
      - sms: links/m
sample:
  cart_updated: {cart: {id: c-1, url: "SAMPLE_URL"}}
"""
TEMPLATES = {
    "links/m/email": "{% block subject %}Your cart{% endblock %}\n"
    '{% block html %}<a href="{{ link(cart.url) }}">Open</a>{% endblock %}',
    "links/m/push": "{% block title %}Cart{% endblock %}{% block body %}b{% endblock %}\n"
    "{% block url %}{{ link(cart.url) }}{% endblock %}",
    "links/m/telegram": "{% block text %}Cart{% endblock %}\n"
    "{% block buttons %}Open | {{ link(cart.url) }}{% endblock %}",
    "links/m/sms": "{% block text %}Cart:\n{{ link(cart.url) }}{% endblock %}",
}
UNSAFE = [
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    "java\nscript:alert(1)",
    " javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "//evil.example/login",
    "/account/login",
    "evil.example/login",
    "ftp://files.example/x",
    "mailto:x@evil.example",
    "tel:+15005550006",
    "https://shop.example@evil.example/",
    "https:///nohost",
    "https://shop.example/\r\nSet-Cookie: x=1",
    "https://shop.example/Ünïcødé path",
]
SAFE = ["https://shop.example/cart?a=1&b=<2>", "http://shop.example/", "HTTPS://Shop.Example/x"]


@pytest.mark.parametrize("url", UNSAFE)
@pytest.mark.parametrize("channel", ["email", "push", "telegram", "sms"])
def test_unsafe_urls_are_template_errors_on_every_channel(channel: str, url: str) -> None:
    # The link helper as omni validate builds it (no tracking): the check comes first.
    context = {"cart": {"url": url}, **helpers("UTC", lambda u: u)}
    source = TEMPLATES[f"links/m/{channel}"]
    with pytest.raises(TemplateProblem, match=r"link\(\)") as info:
        render(channel, source, context)
    assert info.value.line == 2


@pytest.mark.parametrize("channel", ["push", "telegram"])
@pytest.mark.parametrize("url", ["javascript:alert(1)", "//evil.example/x", "data:,x"])
def test_urls_written_without_link_are_checked_too(channel: str, url: str) -> None:
    source = {
        "push": "{% block title %}t{% endblock %}{% block body %}b{% endblock %}"
        "{% block url %}{{ cart.url }}{% endblock %}",
        "telegram": "{% block text %}t{% endblock %}{% block buttons %}Go | {{ cart.url }}"
        "{% endblock %}",
    }[channel]
    with pytest.raises(TemplateProblem, match=r"only http|protocol-relative"):
        render(channel, source, {"cart": {"url": url}})


def test_safe_urls_still_render() -> None:
    for url in SAFE:
        context = {"cart": {"url": url}, **helpers("UTC", lambda u: "https://t.example/t/c/x")}
        for channel in ("email", "push", "telegram", "sms"):
            render(channel, TEMPLATES[f"links/m/{channel}"], context)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "//evil.example/x", "data:,x"])
def test_omni_validate_reports_the_unsafe_sample_link(tmp_path: Path, url: str) -> None:
    write_scenario(tmp_path, LADDER.replace("SAMPLE_URL", "https://shop.example/c"), TEMPLATES)
    (tmp_path / "scenarios" / "s.yaml").write_text(
        LADDER.replace("SAMPLE_URL", url), encoding="utf-8"
    )
    _, problems = load_all([tmp_path / "scenarios"], tmp_path / "templates")
    shown = sorted(str(p) for p in problems)
    assert len(shown) == 4, shown  # one per channel template
    for channel, line in zip(["email", "push", "sms", "telegram"], shown, strict=True):
        assert line.startswith(str(tmp_path / "templates" / "links" / "m" / f"{channel}.j2:2:"))
        assert "link()" in line


async def test_unsafe_event_urls_fail_each_send_and_the_run_goes_on(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    scenario = write_scenario(
        tmp_path, LADDER.replace("SAMPLE_URL", "https://shop.example/cart"), TEMPLATES
    )
    for i, url in enumerate(UNSAFE[:5]):
        contact = Contact.model_validate({**FULL_CONTACT, "id": f"links-{i}"})
        async with Run(time_env, scenario, contact) as run:
            await run.start({"cart": {"id": f"c-{i}", "url": url}})
            state = await run.result()
        assert [(m.channel, m.status) for m in state.messages] == [
            ("email", "failed"),
            ("push", "failed"),
            ("telegram", "failed"),
            ("sms", "failed"),
        ]
        assert all(m.reason.startswith("template_error") for m in state.messages)
        assert all("link()" in m.reason for m in state.messages)
        assert state.outcome == "nothing_sent"
        assert all(not box.sent for box in run.providers.values())
    # The same ladder with a safe URL sends on the first rung.
    contact = Contact.model_validate({**FULL_CONTACT, "id": "links-ok"})
    async with Run(time_env, scenario, contact) as run:
        await run.start({"cart": {"id": "c-ok", "url": SAFE[0]}})
        state = await run.result()
    assert state.messages[0].status == "sent"
