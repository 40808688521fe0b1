"""The channels' variables: a channel is on when its first variable is set."""

from __future__ import annotations

import dataclasses

from channels.email import EmailSettings
from channels.push import PushSettings
from channels.sms import SmsSettings
from channels.telegram import TelegramSettings
from channels.whatsapp import WhatsappSettings
from orchestrator.config.groups import RecordingSettings
from orchestrator.config.spec import Group, Var

#: Channels without a provider on purpose.
RECORDING = Group(
    "recording",
    RecordingSettings,
    "Channels without a provider",
    (
        Var(
            "OMNI_RECORD_ONLY",
            "record_only",
            "channels whose messages are only recorded (`OMNI_DATA_DIR/outbox/`, send log "
            "status `recorded`), never delivered, e.g. `sms,push` on a staging stack; a "
            "worker whose scenarios use a channel with neither a provider nor this refuses "
            "to start (`omni dev` records such channels itself)",
            "none",
        ),
    ),
)

CHANNEL_GROUPS: tuple[Group, ...] = (
    Group(
        "email",
        EmailSettings,
        "Email (SMTP); unset: no provider (`omni dev`: its mail sink)",
        (
            Var("OMNI_SMTP_HOST", "host", "SMTP server"),
            Var("OMNI_SMTP_PORT", "port", "SMTP port"),
            Var("OMNI_SMTP_SECURITY", "security", "`starttls`, `tls` or `none`"),
            Var("OMNI_SMTP_USERNAME", "username", "AUTH user; empty skips AUTH"),
            Var("OMNI_SMTP_PASSWORD", "password", "AUTH password"),
            Var("OMNI_EMAIL_FROM", "sender", "From header"),
            Var("OMNI_EMAIL_REPLY_TO", "reply_to", "Reply-To header"),
            Var("OMNI_POSTAL_ADDRESS", "postal_address", "footer of marketing email (CAN-SPAM)"),
            Var(
                "OMNI_DKIM_SELECTOR",
                "dkim",
                "DKIM selector; with the two below, signs every message",
            ),
            Var("OMNI_DKIM_DOMAIN", "dkim", "DKIM signing domain"),
            Var("OMNI_DKIM_KEY_FILE", "dkim", "DKIM private key (PEM file)"),
        ),
        enabled_by="OMNI_SMTP_HOST",
    ),
    Group(
        "telegram",
        TelegramSettings,
        "Telegram; unset: no provider",
        (
            Var("OMNI_TELEGRAM_BOT_TOKEN", "token", "bot token from @BotFather"),
            Var("OMNI_TELEGRAM_API_URL", "base_url", "Bot API root"),
            Var("OMNI_TELEGRAM_PER_SECOND", "messages_per_second", "messages a second for the bot"),
        ),
        enabled_by="OMNI_TELEGRAM_BOT_TOKEN",
    ),
    Group(
        "sms",
        SmsSettings,
        "SMS (Twilio); unset: no provider",
        (
            Var("OMNI_TWILIO_ACCOUNT_SID", "account_sid", "account SID"),
            Var("OMNI_TWILIO_AUTH_TOKEN", "auth_token", "auth token"),
            Var("OMNI_TWILIO_FROM", "from_number", "sender number (E.164)"),
            Var(
                "OMNI_TWILIO_MESSAGING_SERVICE_SID",
                "messaging_service_sid",
                "or a Messaging Service SID",
            ),
            Var("OMNI_TWILIO_API_URL", "base_url", "Twilio API root"),
            Var("OMNI_SMS_PER_SECOND", "messages_per_second", "the sender's rate"),
            Var(
                "OMNI_SMS_MAX_SEGMENTS",
                "max_segments",
                "longer messages are refused before sending",
            ),
        ),
        enabled_by="OMNI_TWILIO_ACCOUNT_SID",
    ),
    Group(
        "whatsapp",
        WhatsappSettings,
        "WhatsApp (Twilio, with the account above); unset: no provider",
        (
            Var(
                "OMNI_WHATSAPP_FROM",
                "from_number",
                "WhatsApp sender registered with Twilio (E.164, without `whatsapp:`); "
                "switches WhatsApp on",
            ),
            Var(
                "OMNI_WHATSAPP_MESSAGING_SERVICE_SID",
                "messaging_service_sid",
                "or a Messaging Service SID with a WhatsApp sender (switches it on too)",
            ),
            Var("OMNI_WHATSAPP_PER_SECOND", "messages_per_second", "the sender's rate"),
        ),
        enabled_by=("OMNI_WHATSAPP_FROM", "OMNI_WHATSAPP_MESSAGING_SERVICE_SID"),
    ),
    Group(
        "push",
        PushSettings,
        "Web push; unset: no provider",
        (
            Var(
                "OMNI_VAPID_PRIVATE_KEY",
                "vapid_private_key",
                "VAPID private key (`omni vapid-keys`)",
            ),
            Var("OMNI_VAPID_SUBJECT", "subject", "VAPID contact, `mailto:` or https"),
            Var("OMNI_PUSH_TTL", "ttl", "seconds a push service keeps an undelivered message"),
            Var(
                "OMNI_PUSH_TRUSTED_ORIGINS",
                "trusted_origins",
                "push services allowed over http or at private addresses (comma-separated "
                "origins: a self-hosted relay, tests); others must be public https",
            ),
        ),
        enabled_by="OMNI_VAPID_PRIVATE_KEY",
    ),
)


#: What a channel needs beyond its group's own required variables.
_ALSO: dict[str, tuple[str, ...]] = {
    "sms": ("OMNI_TWILIO_FROM or OMNI_TWILIO_MESSAGING_SERVICE_SID",),
    "whatsapp": ("OMNI_TWILIO_ACCOUNT_SID", "OMNI_TWILIO_AUTH_TOKEN"),
}


def provider_variables(channel: str) -> str:
    """The variables that give ``channel`` a provider, for messages saying it has none."""
    group = next(g for g in CHANNEL_GROUPS if g.name == channel)
    required = {
        f.name
        for f in dataclasses.fields(group.cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    names = [" or ".join(group.switches)]
    names += [v.env for v in group.vars if v.field in required and v.env not in group.switches]
    return ", ".join([*names, *_ALSO.get(channel, ())])
