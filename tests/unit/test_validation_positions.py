"""Issue 11: every condition is checked, problems point at the offending value, one pass."""

from __future__ import annotations

from pathlib import Path

from validation_cases import GOOD, check, only


def test_goal_condition_typo_is_caught_at_its_column(tmp_path: Path) -> None:
    text = GOOD.replace("order.cart_id ==", "order.cartid ==")
    p = only(check(tmp_path, text))
    assert "goal order_placed condition" in p.message and "cartid" in p.message
    assert (p.line, p.column) == (3, 35)  # the `when:` value, not the trigger line


def test_goal_condition_without_a_sample_is_an_error_with_a_hint(tmp_path: Path) -> None:
    text = GOOD.replace("  order_placed: {order: {cart_id: c-1}}\n", "")
    p = only(check(tmp_path, text))
    assert "order_placed" in p.message and "no sample" in p.message
    assert "sample:" in p.hint
    assert p.line == 3


def test_exit_condition_checked_against_its_own_sample(tmp_path: Path) -> None:
    text = GOOD.replace(
        "steps:\n", "exit: {event: unsubscribed, when: reason.code == 1}\nsteps:\n"
    ).replace("sample:\n", "sample:\n  unsubscribed: {reason: {text: x}}\n")
    p = only(check(tmp_path, text))
    assert p.message.startswith("exit unsubscribed condition") and p.line == 4
    assert p.column == 35


def test_a_goal_without_when_needs_no_sample(tmp_path: Path) -> None:
    text = GOOD.replace(
        "goal: {event: order_placed, when: order.cart_id == trigger.cart.id}",
        "goal: order_placed",
    ).replace("  order_placed: {order: {cart_id: c-1}}\n", "")
    assert check(tmp_path, text) == []


def test_wait_for_condition_without_sample_is_an_error(tmp_path: Path) -> None:
    text = GOOD.replace(
        "  - wait: 1h\n",
        "  - wait_for: {event: paid, when: payment.ok, timeout: 1d}\n",
    )
    p = only(check(tmp_path, text))
    assert "'paid'" in p.message and p.line == 5


def test_if_condition_points_at_the_expression(tmp_path: Path) -> None:
    text = GOOD.replace("  - wait: 1h\n", "  - if: cart.totl > 1\n    then:\n      - wait: 1h\n")
    p = only(check(tmp_path, text))
    assert (p.line, p.column) == (5, 9) and "totl" in p.message


def test_missing_template_points_at_the_reference_not_the_escalate_line(tmp_path: Path) -> None:
    text = GOOD.replace(
        "  - send: {email: t/hello}\n",
        "  - escalate:\n      - email: t/hello\n        wait: 1h\n      - sms: t/nothere\n",
    )
    p = only(check(tmp_path, text))
    assert "t/nothere/sms.j2 not found" in p.message
    assert (p.line, p.column) == (9, 14)


def test_structural_and_semantic_problems_in_one_pass(tmp_path: Path) -> None:
    text = GOOD.replace("  - wait: 1h\n", "  - wait: 1 hour\n").replace(
        "order.cart_id ==", "order.cartid =="
    )
    problems = check(tmp_path, text)
    messages = [p.message for p in problems]
    assert len(problems) == 2, messages
    assert [p.line for p in problems] == [3, 5]  # in file order
    assert any("cartid" in m for m in messages) and any("duration" in m for m in messages)


def test_trigger_per_points_at_per(tmp_path: Path) -> None:
    text = GOOD.replace("per: cart.id}", "per: cart.uid}")
    p = only(check(tmp_path, text))
    assert p.message.startswith("per:") and (p.line, p.column) == (2, 37)


def test_contact_attributes_validate_with_a_sample_contact(tmp_path: Path) -> None:
    cond = "  - if: contact.attributes.tier == 'gold'\n    then:\n      - wait: 1h\n"
    text = GOOD.replace("  - wait: 1h\n", cond)
    p = only(check(tmp_path, text))
    assert "tier" in p.message
    with_contact = text + "  contact: {attributes: {tier: gold}, timezone: Asia/Tokyo}\n"
    assert check(tmp_path, with_contact) == []


def test_contact_sample_feeds_templates(tmp_path: Path) -> None:
    templates = {
        "t/hello/email.j2": "{% block subject %}Hi {{ contact.attributes.nick }}{% endblock %}"
        "{% block html %}<p>x</p>{% endblock %}",
    }
    p = only(check(tmp_path, GOOD, templates))
    assert "nick" in p.message
    text = GOOD + "  contact: {attributes: {nick: Al}}\n"
    assert check(tmp_path, text, templates) == []


def test_expression_after_the_last_block_is_reported_at_its_line(tmp_path: Path) -> None:
    templates = {
        "t/hello/email.j2": "{% block subject %}Hi{% endblock %}\n"
        "{% block html %}<p>x</p>{% endblock %}\n\n{{ custmer.first_name }}\n",
    }
    p = only(check(tmp_path, GOOD, templates))
    assert p.file.endswith("email.j2") and p.line == 4
    assert "outside every block" in p.message and "block" in p.hint


def test_whitespace_comments_and_macros_outside_blocks_are_fine(tmp_path: Path) -> None:
    templates = {
        "t/hello/email.j2": "{# greeting #}\n{% macro hi() %}Hi{% endmacro %}\n"
        "{% block subject %}Hi{% endblock %}\n\n{% block html %}<p>x</p>{% endblock %}\n",
    }
    assert check(tmp_path, GOOD, templates) == []


def test_a_multi_line_condition_is_reported_at_the_line_jinja_names(tmp_path: Path) -> None:
    text = GOOD.replace(
        "goal: {event: order_placed, when: order.cart_id == trigger.cart.id}",
        "goal:\n  event: order_placed\n  when: |\n    order.cart_id == trigger.cart.id and\n"
        "    order.cart_id >\n",
    )
    p = only(check(tmp_path, text))
    assert "goal order_placed condition" in p.message and "invalid expression" in p.message
    assert (p.line, p.column) == (7, 5)  # the broken second line of the block, at its text


def test_a_block_condition_that_fails_on_the_sample_points_at_its_text(tmp_path: Path) -> None:
    text = GOOD.replace(
        "goal: {event: order_placed, when: order.cart_id == trigger.cart.id}",
        "goal:\n  event: order_placed\n  when: >\n\n    order.cartid == trigger.cart.id\n",
    )
    p = only(check(tmp_path, text))
    assert "cartid" in p.message
    assert (p.line, p.column) == (7, 5)  # the text, after the `>` line and a blank one
