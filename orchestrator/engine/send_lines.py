"""The one line a send's fate gets in the ``omni.sends`` log (what ``omni dev`` prints):
``sent email `welcome/hello` · run welcome_series/customer-42`` — ids, template names and
reason codes only; the address, the message and the provider's words stay in the send log.

The send activity logs what it did; skips the workflow decides itself (``too_late``,
``holdout``) are logged from workflow code through a replay-safe adapter: a replayed workflow
task logs nothing, and a log line is no Temporal command, so it costs no action."""

from __future__ import annotations

import logging

from temporalio import workflow

log = logging.getLogger("omni.sends")
#: Workflow code's handle on the same logger: silent during replay, no workflow info dict
#: appended to the message (the line carries the workflow id itself).
workflow_log = workflow.LoggerAdapter(log, None)
workflow_log.workflow_info_on_message = False


def send_line(
    logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
    *,
    status: str,
    channel: str,
    template: str,
    workflow_id: str,
    reason: str = "",
    **context: str,
) -> None:
    """Log one send's fate; ``context`` adds ids (scenario, step, key) for JSON lines."""
    extra = {
        "workflow_id": workflow_id,
        "channel": channel,
        "template": template,
        "status": status,
        "reason": reason,
        **context,
    }
    why = f" ({reason})" if reason else ""
    logger.info("%s %s `%s` · run %s%s", status, channel, template, workflow_id, why, extra=extra)


def workflow_skip(*, scenario: str, step: str, channel: str, template: str, reason: str) -> None:
    """A send the workflow skipped without calling the send activity (reason: a code)."""
    send_line(
        workflow_log,
        status="skipped",
        channel=channel,
        template=template,
        workflow_id=workflow.info().workflow_id,
        reason=reason,
        scenario=scenario,
        step=step,
    )
