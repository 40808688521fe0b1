"""The console shows a WhatsApp message that went as an approved template: its SID and each
variable as the customer's data held it, escaped (a variable cannot add markup to the page)."""

from __future__ import annotations

from dataclasses import asdict

from channels.base import Rendered
from orchestrator.console.message_view import shown
from orchestrator.console.render import ENV

SID = "HX" + "0f" * 16


def draw(message: Rendered) -> str:
    view = ENV.from_string('{% from "_message.html" import show %}{{ show(r, "whatsapp") }}')
    return view.render(r=shown(asdict(message)))


def test_an_approved_template_shows_its_sid_and_variables() -> None:
    html = draw(
        Rendered(
            channel="whatsapp",
            locale="",
            content_sid=SID,
            content_variables={"1": "Ana", "2": '<img src=x onerror="alert(1)">'},
        )
    )
    assert f"<code>{SID}</code>" in html
    assert '<li value="1">Ana</li>' in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html and "<img" not in html


def test_free_text_shows_as_a_bubble() -> None:
    html = draw(Rendered(channel="whatsapp", locale="", text="Hi https://shop.example/c"))
    assert 'class="bubble sms"' in html and "Approved" not in html


def test_the_preview_says_what_free_text_costs_and_when_it_goes() -> None:
    from orchestrator.console.preview import facts

    text = facts(None, Rendered(channel="whatsapp", locale="", text="Hi Ana"))  # type: ignore[arg-type]
    assert text.startswith("6 characters of free text") and "24 h" in text
