"""The whole configuration of a worker or API process, built from a mapping of variables."""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from channels.email import EmailSettings
from channels.email_message import DkimKey
from channels.push import PushSettings
from channels.sms import SmsSettings
from channels.telegram import TelegramSettings
from channels.whatsapp import WhatsappSettings
from orchestrator.api.services import ApiSettings
from orchestrator.config.groups import (
    CodecSettings,
    DevSettings,
    ListenSettings,
    ObservabilitySettings,
    RecordingSettings,
    ScenarioSettings,
    StoreSettings,
    TemporalSettings,
    TrackingSettings,
)
from orchestrator.config.variables import SETTINGS
from orchestrator.console.settings import ConsoleSettings
from orchestrator.engine.codec import CodecKeyError
from orchestrator.engine.policies import FrequencyPolicy
from orchestrator.language.policy_syntax import PolicyError


@dataclass(frozen=True)
class WorkerConfig:
    """Every setting, by concern. Reprs of the groups hide secrets."""

    temporal: TemporalSettings = field(default_factory=TemporalSettings)
    scenarios: ScenarioSettings = field(default_factory=ScenarioSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    listen: ListenSettings = field(default_factory=ListenSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    tracking: TrackingSettings = field(default_factory=TrackingSettings)
    policy: FrequencyPolicy = field(default_factory=FrequencyPolicy)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    codec: CodecSettings = field(default_factory=CodecSettings)
    observability: ObservabilitySettings = field(default_factory=ObservabilitySettings)
    dev: DevSettings = field(default_factory=DevSettings)
    recording: RecordingSettings = field(default_factory=RecordingSettings)
    email: EmailSettings | None = None
    telegram: TelegramSettings | None = None
    sms: SmsSettings | None = None
    push: PushSettings | None = None
    whatsapp: WhatsappSettings | None = None

    @classmethod
    def from_mapping(cls, env: typing.Mapping[str, str]) -> WorkerConfig:
        """Build from variables (worker.py passes the environment); empty values are unset."""
        e = {k: v for k, v in env.items() if v != ""}
        built: dict[str, Any] = {}
        for group in SETTINGS:
            if group.enabled_by and not any(v in e for v in group.switches):
                continue
            hints = typing.get_type_hints(group.cls)
            values = {
                v.field: _convert(e[v.env], hints[v.field], v.env)
                for v in group.vars
                if v.env in e and v.field != "dkim"
            }
            missing = [
                v.env
                for f in fields(group.cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                for v in group.vars
                if v.field == f.name and v.field not in values
            ]
            if missing:
                raise ValueError(f"{group.switches[0]} is set: also set {', '.join(missing)}")
            built[group.name] = group.cls(**values)
        config = cls(**built)
        return config._wired(e)

    def _wired(self, e: dict[str, str]) -> WorkerConfig:
        """Values one group derives from another (callback URLs, the DKIM key, secrets)."""
        public = self.api.public_base_url.rstrip("/")
        # The push services a worker may call are the ones contacts may subscribe at.
        trusted = self.push.trusted_origins if self.push is not None else ()
        api = dataclasses.replace(
            self.api,
            public_base_url=public,
            trusted_push_origins=self.api.trusted_push_origins or trusted,
        )
        sms = self.sms and dataclasses.replace(
            self.sms, status_callback_url=f"{public}/webhooks/twilio/status"
        )
        whatsapp = self.whatsapp
        if whatsapp is not None:
            if sms is None:
                raise ValueError(
                    "WhatsApp is on (OMNI_WHATSAPP_*): also set OMNI_TWILIO_ACCOUNT_SID and "
                    "OMNI_TWILIO_AUTH_TOKEN (WhatsApp goes through Twilio)"
                )
            whatsapp = dataclasses.replace(
                whatsapp,
                account_sid=sms.account_sid,
                auth_token=sms.auth_token,
                base_url=sms.base_url,
                status_callback_url=sms.status_callback_url,
            )
        email = self.email
        dkim_vars = ("OMNI_DKIM_SELECTOR", "OMNI_DKIM_DOMAIN", "OMNI_DKIM_KEY_FILE")
        if email is not None and any(v in e for v in dkim_vars):
            if not all(v in e for v in dkim_vars):
                raise ValueError(f"DKIM needs {', '.join(dkim_vars)} together")
            key = DkimKey(e[dkim_vars[0]], e[dkim_vars[1]], Path(e[dkim_vars[2]]).read_bytes())
            email = dataclasses.replace(email, dkim=key)
        self.temporal.served()  # OMNI_SEND_QUEUES and OMNI_WORKER_SERVES, checked at start
        self.recording.check()
        try:
            self.policy.parsed()
        except PolicyError as exc:
            raise ValueError(f"OMNI_FREQUENCY_CAPS: {exc}; {exc.hint}") from None
        try:
            self.codec.codec()
        except CodecKeyError as exc:
            raise ValueError(f"OMNI_CODEC_KEYS: {exc}") from None
        wired = dataclasses.replace(self, api=api, sms=sms, email=email, whatsapp=whatsapp)
        both = [c for c in self.recording.record_only if wired.has_provider(c)]
        if both:
            raise ValueError(
                f"OMNI_RECORD_ONLY names {', '.join(both)}, which has a provider configured: "
                "take it out of OMNI_RECORD_ONLY to send, or unset the provider to record only"
            )
        return wired

    def has_provider(self, channel: str) -> bool:
        """Is a provider configured for ``channel``? A Twilio account for WhatsApp alone (no
        SMS sender) gives SMS none."""
        if channel == "sms":
            sms = self.sms
            return sms is not None and bool(
                sms.from_number or sms.messaging_service_sid or self.whatsapp is None
            )
        return getattr(self, channel) is not None


def _convert(raw: str, hint: Any, name: str) -> Any:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))  # X | None -> X
    kind = typing.get_origin(hint) or hint
    try:
        if kind is bool:
            return raw.strip().lower() in ("1", "true", "yes", "on")
        if kind is tuple:
            return tuple(x.strip() for x in raw.split(",") if x.strip())
        return kind(raw) if kind in (int, float, Path) else raw
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
