"""The channels a process sends by: a provider's adapter where one is configured, a recording
where a channel records only, and otherwise an unconfigured channel that stops a worker whose
scenarios need it."""

from __future__ import annotations

from channels.base import Channel
from channels.email import EmailChannel
from channels.push import PushChannel, push_session
from channels.recording import RecordingChannel
from channels.sms import SmsChannel, twilio_client
from channels.telegram import TelegramChannel, telegram_bot
from channels.unconfigured import UnconfiguredChannel
from channels.whatsapp import WhatsappChannel
from orchestrator.config.settings import Settings
from orchestrator.config.variables import provider_variables
from orchestrator.language.model import CHANNELS, Scenario


class NoProvider(ValueError):
    """A worker's scenarios use a channel with neither a provider nor OMNI_RECORD_ONLY."""


def build_channels(config: Settings, *, dev: bool = False) -> dict[str, Channel]:
    """Configured providers. A channel without one is recorded (a RecordingChannel) when it is
    record-only (OMNI_RECORD_ONLY) or under ``omni dev`` (``dev``); otherwise it is
    unconfigured, and a worker whose scenarios use it refuses to start (``check_channels``)."""
    recorded = config.store.data_dir / "recorded"
    channels: dict[str, Channel] = {}
    for name in CHANNELS:
        if dev or name in config.recording.record_only:
            channels[name] = RecordingChannel(name, file=recorded / f"{name}.jsonl")
        else:
            channels[name] = UnconfiguredChannel(name, variables=provider_variables(name))
    if config.email is not None:
        channels["email"] = EmailChannel(config.email)
    if config.push is not None:
        channels["push"] = PushChannel(config.push, push_session(config.push))
    if config.telegram is not None:
        channels["telegram"] = TelegramChannel(config.telegram, telegram_bot(config.telegram))
    if config.sms is not None and config.has_provider("sms"):
        channels["sms"] = SmsChannel(config.sms, twilio_client(config.sms))
    if config.whatsapp is not None:
        channels["whatsapp"] = WhatsappChannel(config.whatsapp, twilio_client(config.whatsapp))
    return channels


def channels_sent_by(config: Settings, scenarios: dict[str, Scenario]) -> set[str]:
    """The channels this worker process sends by: those its scenarios use, less those whose
    send queue (OMNI_SEND_QUEUES) it does not serve."""
    main, own_queues = config.temporal.served()
    elsewhere = set(config.temporal.queue_rates()) - set(own_queues)
    used = {c for s in scenarios.values() for c in s.channels()}
    return {c for c in used if c in own_queues or (main and c not in elsewhere)}


async def check_channels(
    config: Settings, scenarios: dict[str, Scenario], channels: dict[str, Channel]
) -> None:
    """Every provider's settings, once; a channel this worker's scenarios send by with no
    provider (and not record-only) stops it, naming the channel and the variables to set."""
    needed = channels_sent_by(config, scenarios)
    missing = [
        c.problem
        for name, c in channels.items()
        if isinstance(c, UnconfiguredChannel) and name in needed
    ]
    if missing:
        raise NoProvider(
            "refusing to start, scenarios send by a channel with no provider: " + "; ".join(missing)
        )
    for channel in channels.values():
        if not isinstance(channel, UnconfiguredChannel):
            await channel.check()  # a misconfigured provider fails here, loudly, once
