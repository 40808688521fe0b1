"""OMNI_SEND_QUEUES and OMNI_WORKER_SERVES: which channels send on a queue of their own, at
what fleet-wide rate, and what one worker process polls. A mistake stops the process at start
with the variable's name and an example; nothing is half-configured."""

from __future__ import annotations

import pytest

from orchestrator.config.settings import load_settings


def test_no_send_queues_by_default_every_send_on_the_main_queue() -> None:
    t = load_settings({}).temporal
    assert t.send_queue_names() == {}
    assert t.served() == (True, {})


def test_channels_get_queues_named_after_the_main_one_with_their_rates() -> None:
    t = load_settings(
        {"OMNI_TASK_QUEUE": "shop", "OMNI_SEND_QUEUES": " sms:1, telegram:30 ,email"}
    ).temporal
    assert t.send_queue_names() == {
        "sms": "shop-sms",
        "telegram": "shop-telegram",
        "email": "shop-email",
    }
    assert t.queue_rates() == {"sms": 1.0, "telegram": 30.0, "email": None}
    assert t.served() == (True, {"sms": 1.0, "telegram": 30.0, "email": None})


@pytest.mark.parametrize(
    ("serves", "expected"),
    [
        ("sms", (False, {"sms": 0.5})),
        ("workflows", (True, {})),
        ("workflows,sms", (True, {"sms": 0.5})),
    ],
)
def test_a_worker_serves_what_it_is_told(
    serves: str, expected: tuple[bool, dict[str, float | None]]
) -> None:
    env = {"OMNI_SEND_QUEUES": "sms:0.5,push", "OMNI_WORKER_SERVES": serves}
    assert load_settings(env).temporal.served() == expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OMNI_SEND_QUEUES": "fax:1"}, "OMNI_SEND_QUEUES='fax:1': unknown channel 'fax'"),
        ({"OMNI_SEND_QUEUES": "sms:0"}, "a positive number"),
        ({"OMNI_SEND_QUEUES": "sms:-2"}, "a positive number"),
        ({"OMNI_SEND_QUEUES": "sms:fast"}, "a positive number"),
        ({"OMNI_SEND_QUEUES": "sms:inf"}, "a positive number"),
        ({"OMNI_SEND_QUEUES": "sms:nan"}, "a positive number"),
        ({"OMNI_SEND_QUEUES": "sms:1,sms:2"}, "'sms' is named twice"),
        ({"OMNI_SEND_QUEUES": "<script>:1"}, "unknown channel '<script>'"),
        (
            {"OMNI_SEND_QUEUES": "sms", "OMNI_WORKER_SERVES": "email"},
            "OMNI_WORKER_SERVES: 'email' is neither 'workflows' nor a channel of "
            "OMNI_SEND_QUEUES (sms)",
        ),
        ({"OMNI_WORKER_SERVES": "sms"}, "OMNI_SEND_QUEUES (none)"),
    ],
)
def test_a_wrong_setting_stops_the_process_with_its_name(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match="OMNI_") as caught:
        load_settings(env)
    assert message in str(caught.value)
