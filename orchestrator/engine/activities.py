"""Activities: everything with I/O or a clock lives here, never in workflow code."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta

from temporalio import activity
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from channels.base import (
    Channel,
    ChannelMisconfigured,
    FindsSent,
    Outbound,
    PermanentChannelError,
    SendStopped,
    ShowsAsSent,
    TransientChannelError,
)
from orchestrator.engine import metrics
from orchestrator.engine.compose import ShortLinks, compose, email_urls, facts
from orchestrator.engine.contacts import ContactDirectory
from orchestrator.engine.definitions import Definitions
from orchestrator.engine.evaluation import evaluate_for
from orchestrator.engine.hold import PendingEvents, held
from orchestrator.engine.messages import (
    EvalRequest,
    EvalResult,
    SendRequest,
    SendResult,
    SendStop,
)
from orchestrator.engine.once import (
    SENDING,
    UNCERTAIN,
    Handover,
    earlier_delivery,
    heartbeating,
    once_only,
    resend_allowed,
    written,
)
from orchestrator.engine.policies import FrequencyPolicy, consent, quiet_until
from orchestrator.engine.preferences import PreferenceReader, send_skip
from orchestrator.engine.resolve import EventData, Send, TriggerGone, resolve
from orchestrator.engine.send_errors import UNEXPECTED_ERROR_ATTEMPTS, reason_code
from orchestrator.engine.sendlog import (
    DEFERRED,
    RECORDED,
    RECORDED_REASON,
    SendLog,
    record_of,
    skip_record,
    stopped,
)
from orchestrator.engine.tracking import Tracker
from orchestrator.engine.whatsapp_window import InboundLog, WhatsappWay, whatsapp_way
from orchestrator.language.durations import format_duration
from orchestrator.language.expressions import (
    to_datetime,
)
from orchestrator.language.limits import TEMPLATE_LIMITS, Limits
from orchestrator.language.templates import TemplateProblem

log = logging.getLogger(__name__)

#: The send's skip when every item a digest named by event id was erased since.
DIGEST_GONE = "digest_data_gone: every collected event's data was erased"
#: How the workflow retries the send activity (transient provider errors).
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=20,
)


class Activities:
    """Holds the injected collaborators; the worker registers the bound methods."""

    def __init__(
        self,
        *,
        directory: ContactDirectory,
        send_log: SendLog,
        channels: dict[str, Channel],
        default_timezone: str = "UTC",
        tracker: Tracker | None = None,
        status_callback_url: str = "",
        short_links: ShortLinks | None = None,
        policy: FrequencyPolicy | None = None,
        template_limits: Limits = TEMPLATE_LIMITS,
        keep_messages: bool = False,
        inbound: InboundLog | None = None,
        definitions: Definitions | None = None,
        events: EventData | None = None,
        pending: PendingEvents | None = None,
        preferences: PreferenceReader | None = None,
    ) -> None:
        self.directory = directory
        self.send_log = send_log
        self.channels = channels
        #: What only some adapters do, found once here rather than probed on every send.
        self.finders = {n: c for n, c in channels.items() if isinstance(c, FindsSent)}
        self.as_sent = {n: c for n, c in channels.items() if isinstance(c, ShowsAsSent)}
        self.default_timezone = default_timezone
        self.tracker = tracker
        self.status_callback_url = status_callback_url
        self.short_links = short_links
        self.policy = policy or FrequencyPolicy()
        self.template_limits = template_limits
        #: Keep each rendered message in the send log (PII: shown only in the console).
        self.keep_messages = keep_messages
        #: When each customer last wrote (WhatsApp's 24-hour window); None: never.
        self.inbound = inbound
        #: Templates by scenario version, for sends that carry only the version.
        self.definitions = definitions or Definitions()
        #: Stored events' data, for sends that refer to their trigger by id.
        self.events = events
        #: Stored events not yet delivered: a send waits for its customer's (engine/hold.py).
        self.pending = pending
        #: The customer's topics and pause from the preference center (None: not kept).
        self.preferences = preferences

    @activity.defn(name="send")
    async def send(self, req: SendRequest) -> SendResult:
        # The whole send heartbeats, store writes included: a store that is locked or
        # restarting must not look like a dead worker (whose send another attempt takes over).
        handover = Handover()
        result = await heartbeating(self._send(req, handover), handover=handover)
        metrics.record_send(req, result)
        return result

    async def _send(self, request: SendRequest, handover: Handover) -> SendResult:
        try:
            req = await resolve(request, self.definitions, self.events)
        except TriggerGone as gone:
            why = "trigger_data_gone: the trigger event's data was erased"
            return await self._skip(gone.send, to_datetime(request.now), why)
        if request.collected_refs and not req.collected:  # every item erased: nothing to list
            return await self._skip(req, to_datetime(request.now), DIGEST_GONE)
        return await self._deliver(req, handover)

    async def _deliver(self, req: Send, handover: Handover) -> SendResult:
        # A retried activity must not send twice: the log is checked before the provider.
        done = await self.send_log.get(req.key)
        if done is not None and stopped(done):
            return SendResult("skipped", reason=done.reason)  # its run ended first
        if done is not None and done.status == RECORDED:
            return SendResult("sent", reason=RECORDED_REASON, provider_id=done.provider_id)
        if done is not None and done.status in ("sent", UNCERTAIN):
            reason = "already sent" if done.status == "sent" else UNCERTAIN
            return SendResult(done.status, reason=reason, provider_id=done.provider_id)
        if self.pending is not None and (done is None or done.status != SENDING):
            hold = await held(self.pending, req, activity.info().workflow_id or "")
            if hold is not None:
                return await self._defer(req, hold)
        now = to_datetime(req.now)
        contact = await self.directory.get(req.customer_id)
        if contact is None:
            return await self._skip(req, now, "unknown_contact")
        address = contact.address(req.channel)
        if not address:
            return await self._skip(req, now, f"no_address: no {req.channel} address on file")
        if done is not None and done.status == SENDING:
            # An earlier attempt died after handing the message over (see engine/once.py).
            found = await earlier_delivery(self.finders.get(req.channel), address, done.at)
            if found:
                await written(lambda: self._record(req, now, "sent", provider_id=found))
                return SendResult("sent", reason="already sent", provider_id=found)
            if not resend_allowed(req.category):
                why = "the worker stopped after calling the provider; not sent again"
                await self._record(req, now, UNCERTAIN, reason=f"{UNCERTAIN}: {why}")
                return SendResult("failed", reason=UNCERTAIN)
        decision = consent(
            category=req.category,
            channel=req.channel,
            consents=contact.consents,
            suppressions=contact.suppressions,
        )
        if not decision.allowed:
            return await self._skip(req, now, decision.reason)
        if self.preferences is not None and req.category == "marketing":
            said = await self.preferences.preferences(req.customer_id)
            why = send_skip(said, category=req.category, topic=req.topic, now=now)
            if why:
                return await self._skip(req, now, why)
        timezone = contact.timezone or self.default_timezone
        if req.quiet_hours is not None:
            until = quiet_until(now, req.quiet_hours, timezone)
            if until is not None and req.quiet_hours.action == "wait":
                hold = SendResult("deferred", reason="quiet_hours", retry_at=until.isoformat())
                return await self._defer(req, hold)
            if until is not None:
                return await self._skip(req, now, "quiet_hours")
        way = WhatsappWay()
        if req.channel == "whatsapp":  # the window is WhatsApp's clock: the real time
            way = await whatsapp_way(req, address, max(now, datetime.now(UTC)), self.inbound)
            if way.skip:
                return await self._skip(req, now, way.skip)
        # The cap check and the slot it takes are one atomic step in the store, so two
        # scenarios sending at the same moment cannot both take the last slot.
        caps = self.policy.for_category(req.category) + list(req.frequency_caps)
        cap = await self.send_log.reserve(record_of(req, now, "reserved"), caps)
        if cap is not None:
            scope = f"{cap.channel} " if cap.channel else ""
            window = format_duration(cap.window_s)
            return await self._skip(
                req, now, f"frequency_cap: {cap.limit} {scope}per {window} reached"
            )
        try:
            composed = await compose(
                req,
                contact,
                timezone=timezone,
                tracker=self.tracker,
                shorten=self.short_links is not None,
                limits=self.template_limits,
                content=way.content,
            )
        except TemplateProblem as exc:
            return await self._skip(req, now, f"template_error: {exc}", status="failed")
        message, locale = composed.message, composed.locale
        if composed.short:
            assert self.short_links is not None
            # Before sending: the codes must resolve when the customer taps them.
            await self.short_links.save(composed.short, customer_id=req.customer_id)
        urls = email_urls(self.tracker, req)
        out = Outbound(
            marketing=req.category == "marketing",
            status_callback_url=self.status_callback_url,
            open_pixel_url=urls.get("open_pixel_url", ""),
            unsubscribe_url=urls.get("unsubscribe_url", ""),
            preferences_url=urls.get("preferences_url", "") or composed.preferences_url,
            key=req.key,
            channel=req.channel,
            address=address,
            message=message,
            customer_id=req.customer_id,
            scenario=req.scenario,
            template=req.template,
        )

        # The intent, before the provider hears of it: recorded by the adapter's handover,
        # once it has waited for its rate limit and connection (see engine/once.py). A run
        # that ended meanwhile has stopped the send in the log: the handover refuses it.
        async def hand_over() -> None:
            handover.begun = True
            if not await self.send_log.hand_over(record_of(req, now, SENDING)):
                handover.begun = False
                raise SendStopped("the run ended before the handover")

        out.handover = once_only(hand_over)
        try:
            with metrics.provider_call(req.channel, self.channels[req.channel]):
                delivery = await self.channels[req.channel].send(out)
            provider_id = delivery.provider_id
        except TransientChannelError as exc:
            # The provider's words (an address, a number) go to the send log, not to history.
            await self._record(req, now, "reserved", reason=f"retrying: {exc}")
            delay = timedelta(seconds=exc.retry_after) if exc.retry_after else None
            raise ApplicationError(
                f"{req.channel}: transient provider error",
                type="TransientChannelError",
                next_retry_delay=delay,
            ) from None
        except PermanentChannelError as exc:
            code = reason_code(exc.reason)
            if exc.gone:
                await self.directory.remove_push_subscriptions(exc.gone)
            if exc.suppress:
                await self.directory.suppress(req.customer_id, req.channel, code)
            return await self._skip(req, now, code, status="failed", detail=exc.reason)
        except SendStopped:
            record = await self.send_log.get(req.key)
            return SendResult("skipped", reason=record.reason if record else "stopped")
        except ChannelMisconfigured as exc:
            # Not this message's fault: retried (SEND_RETRY) until the provider is fixed;
            # the provider took nothing, so the retry may send.
            await self._record(req, now, "reserved", reason="retrying: channel misconfigured")
            raise ApplicationError(f"{req.channel}: {exc}", type="ChannelMisconfigured") from None
        except Exception as exc:
            return await self._unexpected(req, now, exc)
        if delivery.gone:
            await self.directory.remove_push_subscriptions(delivery.gone)
        body = ""
        if self.keep_messages:
            # What the customer received, footer included (an adapter that adds one says so).
            shown = self.as_sent.get(req.channel)
            kept = shown.as_sent(out) if shown is not None else message
            body = json.dumps(asdict(kept), ensure_ascii=False)
        # A recorded message reached nobody: the log says so; the run goes on as after a send.
        status = RECORDED if delivery.recorded else "sent"
        await written(lambda: self._record(req, now, status, provider_id=provider_id, body=body))
        return SendResult(
            "sent",
            reason=RECORDED_REASON if delivery.recorded else "",
            provider_id=provider_id,
            locale=locale,
            preview=message.preview() if req.preview else "",
            detail=facts(req.channel, message) if req.preview else "",
        )

    async def _unexpected(self, req: Send, now: datetime, exc: Exception) -> SendResult:
        attempt = activity.info().attempt
        kind = exc.__class__.__name__  # not the message: it may quote the address
        if attempt < UNEXPECTED_ERROR_ATTEMPTS:
            log.warning("%s send %s: %s (attempt %d)", req.channel, req.key, kind, attempt)
            # The adapter answered (with an error): nothing is in doubt, the retry may send.
            await self._record(req, now, "reserved", reason=f"retrying: unexpected {kind}")
            raise ApplicationError(
                f"{req.channel}: unexpected {kind}", type="UnexpectedChannelError"
            ) from None
        log.error("%s send %s failed for good: %s", req.channel, req.key, kind, exc_info=exc)
        reason = f"error: the {req.channel} adapter raised {kind} ({attempt} attempts)"
        return await self._skip(req, now, reason, status="failed")

    async def _skip(
        self,
        req: Send,
        now: datetime,
        reason: str,
        status: str = "skipped",
        detail: str = "",
    ) -> SendResult:
        """``reason`` goes to the run's history; ``detail`` (if any) only to the send log."""
        await self._record(req, now, status, reason=detail or reason)
        return SendResult(status, reason=reason)

    async def _defer(self, req: Send, hold: SendResult) -> SendResult:
        """A deferral is a fate of its own in the send log while it lasts (the console counts
        sends held by quiet hours, and lists them), and the entry keeps why it was held."""
        entry = record_of(
            req, to_datetime(req.now), DEFERRED, f"{hold.reason}: until {hold.retry_at}"
        )
        await self.send_log.defer(replace(entry, held=hold.reason))
        return hold

    async def _record(
        self,
        req: Send,
        now: datetime,
        status: str,
        *,
        reason: str = "",
        provider_id: str = "",
        body: str = "",
    ) -> None:
        entry = record_of(req, now, status, reason, provider_id)
        entry.body = body
        await self.send_log.record(entry)

    @activity.defn(name="log_skip")
    async def log_skip(self, req: SendStop) -> None:
        """A send its run skipped by itself (too late), kept in the send log beside
        every other fate and counted in omni_send_skips (a local activity; the first record
        of a key stays)."""
        await self.send_log.stop(skip_record(req, to_datetime(req.now), req.reason))
        metrics.count_skip(req.scenario, req.channel, req.reason)

    @activity.defn(name="stop_send")
    async def stop_send(self, req: SendStop) -> SendResult:
        """The fate of a send whose run ended while it was under way (a local activity of the
        ending run): stopped now if not handed over yet, else what it came to."""
        fate = await self.send_log.stop(skip_record(req, to_datetime(req.now), req.reason))
        if stopped(fate):
            metrics.count_skip(req.scenario, req.channel, fate.reason)
            return SendResult("skipped", reason=fate.reason)
        if fate.status in (SENDING, "sent", RECORDED):
            why = "handed to the provider before the run ended"
            return SendResult("sent", reason=why, provider_id=fate.provider_id)
        if fate.status == UNCERTAIN:
            return SendResult("failed", reason=UNCERTAIN)
        return SendResult(fate.status, reason=reason_code(fate.reason))

    @activity.defn(name="evaluate")
    async def evaluate(self, req: EvalRequest) -> EvalResult:
        return await evaluate_for(self.directory, req, self.default_timezone)
