"""The whole configuration of an Omni process, read from the environment by pydantic-settings.

``load_settings()`` is the one way in: it reads the variables ``variables.SETTINGS`` names
(through ``VariablesSource``, the only reader of the environment), validates every group at
once, and on any wrong value raises ``SettingsInvalid`` naming each bad variable with a hint,
before anything starts. Values one group takes from another (Twilio's callback URL, the DKIM
key) are filled in after validation.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any, Self

from pydantic import SecretStr, ValidationError, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from channels.settings import (
    DkimKey,
    EmailSettings,
    PushSettings,
    SmsSettings,
    TelegramSettings,
    WhatsappSettings,
)
from orchestrator.api.settings import ApiSettings
from orchestrator.config.groups import (
    ClientSettings,
    CodecSettings,
    DevSettings,
    DkimFiles,
    ListenSettings,
    ObservabilitySettings,
    RecordingSettings,
    ScenarioSettings,
    StoreSettings,
    TemporalSettings,
    TrackingSettings,
)
from orchestrator.config.variables import SETTINGS, Var
from orchestrator.console.settings import ConsoleSettings
from orchestrator.engine.policies import FrequencyPolicy

__all__ = ["Settings", "SettingsInvalid", "VariablesSource", "load_settings"]


class Settings(BaseSettings):
    """Every setting, by concern; a channel's group is None when it has no provider. Reprs
    and strs never show a secret. Build it with ``load_settings``."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid")

    temporal: TemporalSettings = TemporalSettings()
    scenarios: ScenarioSettings = ScenarioSettings()
    store: StoreSettings = StoreSettings()
    listen: ListenSettings = ListenSettings()
    api: ApiSettings = ApiSettings()
    tracking: TrackingSettings = TrackingSettings()
    policy: FrequencyPolicy = FrequencyPolicy()
    console: ConsoleSettings = ConsoleSettings()
    codec: CodecSettings = CodecSettings()
    observability: ObservabilitySettings = ObservabilitySettings()
    dev: DevSettings = DevSettings()
    recording: RecordingSettings = RecordingSettings()
    client: ClientSettings = ClientSettings()
    email: EmailSettings | None = None
    dkim: DkimFiles | None = None
    telegram: TelegramSettings | None = None
    sms: SmsSettings | None = None
    push: PushSettings | None = None
    whatsapp: WhatsappSettings | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Omni's variables are flat (OMNI_SMTP_HOST), its settings grouped: one source maps
        # the one onto the other.
        return init_settings, VariablesSource(settings_cls)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.whatsapp is not None and self.sms is None:
            raise ValueError(
                "WhatsApp is on (OMNI_WHATSAPP_*): also set OMNI_TWILIO_ACCOUNT_SID and "
                "OMNI_TWILIO_AUTH_TOKEN (WhatsApp goes through Twilio)"
            )
        if self.dkim is not None and self.email is None:
            raise ValueError("OMNI_DKIM_* sign email: set OMNI_SMTP_HOST too, or unset them")
        both = [c for c in self.recording.record_only if self.has_provider(c)]
        if both:
            raise ValueError(
                f"OMNI_RECORD_ONLY names {', '.join(both)}, which has a provider configured: "
                "take it out of OMNI_RECORD_ONLY to send, or unset the provider to record only"
            )
        return self

    def has_provider(self, channel: str) -> bool:
        """Is a provider configured for ``channel``? A Twilio account for WhatsApp alone (no
        SMS sender) gives SMS none."""
        if channel == "sms":
            sms = self.sms
            return sms is not None and bool(
                sms.from_number or sms.messaging_service_sid or self.whatsapp is None
            )
        return getattr(self, channel) is not None

    def _wired(self) -> Settings:
        """Values one group takes from another once all are valid."""
        public = self.api.public_base_url.rstrip("/")
        # The push services a worker may call are the ones contacts may subscribe at.
        trusted = self.push.trusted_origins if self.push is not None else ()
        api = self.api.model_copy(
            update={
                "public_base_url": public,
                "trusted_push_origins": self.api.trusted_push_origins or trusted,
            }
        )
        callback = {"status_callback_url": f"{public}/webhooks/twilio/status"}
        sms = self.sms and self.sms.model_copy(update=callback)
        whatsapp = self.whatsapp and self.whatsapp.model_copy(update=callback)
        email = self.email
        if email is not None and self.dkim is not None:
            d = self.dkim
            key = DkimKey(d.selector, d.domain, d.key_file.read_bytes())
            email = email.model_copy(update={"dkim": key})
        return self.model_copy(
            update={"api": api, "sms": sms, "whatsapp": whatsapp, "email": email}
        )


class VariablesSource(EnvSettingsSource):
    """The environment, or a mapping standing in for it, read by the variable names of
    ``variables.SETTINGS`` into the groups their fields belong to. Empty values are unset; a
    channel's group is built only when one of its switches is set; lists are comma-separated."""

    def __init__(
        self, settings_cls: type[BaseSettings], variables: Mapping[str, str] | None = None
    ) -> None:
        self._given = variables
        super().__init__(settings_cls, case_sensitive=True, env_ignore_empty=True)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        if self._given is None:
            return super()._load_env_vars()
        return {k: v for k, v in self._given.items() if v != ""}

    def __call__(self) -> dict[str, Any]:
        env = {k: v for k, v in self.env_vars.items() if v is not None}
        built: dict[str, dict[str, Any]] = {
            g.name: {} for g in SETTINGS if not g.switches or any(s in env for s in g.switches)
        }
        for g in SETTINGS:
            for v in g.vars:
                if v.env not in env:
                    continue
                for target in (f"{g.name}.{v.field}", *v.also):
                    name, _, field = target.partition(".")
                    if name in built:
                        built[name][field] = _value(env[v.env], _group_cls(name), field)
        return built


def _group_cls(name: str) -> type[Any]:
    return next(g.cls for g in SETTINGS if g.name == name)


def _value(raw: str, cls: type[Any], field: str) -> Any:
    """A tuple field's variable is a comma-separated list; anything else goes as written."""
    annotation = cls.model_fields[field].annotation
    if typing.get_origin(annotation) is tuple:
        return tuple(x.strip() for x in raw.split(",") if x.strip())
    return raw


class SettingsInvalid(ValueError):
    """Variables with values Omni cannot use: every one is named, none is shown if secret."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        count = f"{len(problems)} problem" + ("s" if len(problems) > 1 else "")
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"invalid configuration, nothing started ({count}):\n{lines}")


def load_settings(
    env: Mapping[str, str] | None = None, *, overrides: Mapping[str, str] = {}
) -> Settings:
    """The process's settings: from the environment, or from ``env`` in its place (tests);
    ``overrides`` win over either (the dev stack points email at its sink)."""
    if env is None and not overrides:
        source = VariablesSource(Settings)
    else:
        base = VariablesSource(Settings).env_vars if env is None else env
        merged = {k: v for k, v in base.items() if v is not None}
        source = VariablesSource(Settings, {**merged, **overrides})
    try:
        return Settings(_build_sources=((source,), {}))._wired()
    except ValidationError as exc:
        raise SettingsInvalid([_problem(e, source) for e in exc.errors()]) from None


#: Clearer words than pydantic's for the mistakes people make in variables.
_HINTS = {
    "bool_parsing": "not a boolean; use true or false (yes/no, on/off and 1/0 work too)",
    "int_parsing": "not a whole number",
    "int_from_float": "not a whole number",
    "float_parsing": "not a number",
    "path_not_file": "no such file",
}


def _problem(error: ErrorDetails, source: VariablesSource) -> str:
    loc = [str(part) for part in error["loc"]]
    text = _HINTS.get(error["type"]) or error["msg"].removeprefix("Value error, ")
    var = _variable(*loc[:2]) if len(loc) >= 2 else None
    if var is None:
        return text  # a rule across variables: its message names them
    if error["type"] == "missing":
        group = next(g for g in SETTINGS if g.name == loc[0])
        on = " or ".join(s for s in group.switches if s in source.env_vars)
        return f"{var.env} is not set: {on} is set, so it is needed too"
    raw = source.env_vars.get(var.env)
    shown = "(hidden)" if _secret(loc[0], loc[1]) else repr(raw)
    return f"{var.env}={shown}: {text}"


def _variable(group: str, field: str) -> Var | None:
    for g in SETTINGS:
        for v in g.vars:
            if (g.name, v.field) == (group, field) or f"{group}.{field}" in v.also:
                return v
    return None


def _secret(group: str, field: str) -> bool:
    return _mentions_secret(_group_cls(group).model_fields[field].annotation)


def _mentions_secret(annotation: Any) -> bool:
    return annotation is SecretStr or any(map(_mentions_secret, typing.get_args(annotation)))
