"""The run's record, as the ``state`` query, the Temporal UI and the funnel read it: the
timeline of what happened, the messages' fates, the outcome, the step under way and the
current details. Other collaborators write to it; nothing in it decides anything."""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from orchestrator.engine import labels, search
    from orchestrator.engine.messages import RunInput, SendResult, TimelineEntry
    from orchestrator.engine.send_lines import workflow_skip


class Timeline:
    def __init__(self, inp: RunInput) -> None:
        self._scenario = inp.scenario.id
        self._revision = inp.options.revision
        self._indexed = inp.options.index
        carried = inp.carried
        self.entries: list[TimelineEntry] = list(carried.timeline) if carried else []
        self.started_at = carried.started_at if carried else ""
        #: Messages sent in the whole chain: the outcome is ``nothing_sent`` without one.
        self.sent = carried.sent if carried else 0
        self.outcome = ""
        #: The step under way (its path) and when the run wakes next, for the ``state`` query.
        self.step = ""
        self.next_wakeup = ""
        #: The label of the step after the current one, for the run's current details.
        self.next_label = ""

    def note(self, kind: str, **fields: str) -> None:
        self.entries.append(TimelineEntry(at=workflow.now().isoformat(), kind=kind, **fields))

    def messages(self) -> list[TimelineEntry]:
        return [e for e in self.entries if e.kind in ("send", "skip") and e.channel]

    def skip(self, path: str, channel: str, template: str, reason: str) -> None:
        """A send the run skips itself (no activity): in its timeline and the send log line;
        ``reason`` is ``code: words``."""
        self.note(
            "skip", step=path, channel=channel, template=template, status="skipped", reason=reason
        )
        code = reason.split(":", 1)[0]
        workflow_skip(
            scenario=self._scenario, step=path, channel=channel, template=template, reason=code
        )

    def fate(
        self,
        result: SendResult,
        path: str,
        channel: str,
        template: str,
        key: str,
        deferred_from: str = "",
    ) -> None:
        """A send's fate as the send activity (or ``stop_send``) answered it."""
        kind = "send" if result.status == "sent" else "skip"
        self.note(
            kind,
            step=path,
            channel=channel,
            template=template,
            status=result.status,
            reason=result.reason,
            preview=result.preview,
            deferred_from=deferred_from,
            key=key,
            detail=result.detail,
        )
        if result.status == "sent":
            self.sent += 1
            if self._revision < 1:
                self.index(search.LAST_CHANNEL.value_set(channel))

    def index(self, *updates: SearchAttributeUpdate[str]) -> None:
        if self._indexed:
            workflow.upsert_search_attributes(list(updates))

    def show(self, doing: str, *, next_: str | None = None) -> None:
        """The run's current details in the Temporal UI: what it does now, what comes next and
        the channels it has sent on so far (no addresses, no content)."""
        sent = [e.channel for e in self.entries if e.kind == "send" and e.channel]
        workflow.set_current_details(
            labels.current_details(
                doing, next_=self.next_label if next_ is None else next_, sent=sent
            )
        )
