"""The preference center's HTML: one small page, mobile first, inline CSS, no JavaScript,
in the customer's language (en, ru). Every value from the profile is escaped."""

from __future__ import annotations

from datetime import datetime
from html import escape

from orchestrator.engine.preferences import PAUSES, mask
from orchestrator.store.preferences import Profile

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Your message preferences",
        "hello": "Hello, {name}.",
        "intro": "Choose how and about what we write to you.",
        "channels": "Channels",
        "channels_help": "Turned off, a channel gets no marketing. Messages you asked for, "
        "such as order confirmations, still arrive.",
        "topics": "Topics",
        "always": "always sent (you asked for these)",
        "preferred": "Preferred channel",
        "no_preference": "No preference",
        "pause": "Pause marketing",
        "pause_keep": "Keep as it is",
        "pause_1w": "For 1 week",
        "pause_1m": "For 1 month",
        "pause_3m": "For 3 months",
        "pause_resume": "Resume now",
        "paused_until": "Marketing is paused until {until} (UTC).",
        "save": "Save my preferences",
        "saved": "Saved. Thank you.",
        "email": "Email",
        "push": "Browser notifications",
        "telegram": "Telegram",
        "sms": "SMS",
        "whatsapp": "WhatsApp",
        "bad_title": "This link does not work",
        "bad_invalid": "This link is not valid. Open the link from a recent message.",
        "bad_expired": "This link has expired. Open the link from a recent message.",
        "bad_gone": "There is nothing to show for this link.",
        "bad_origin": "This form was sent from another site and was not saved.",
        "bad_form": "Something in the form was not right; nothing was changed.",
    },
    "ru": {
        "title": "Настройки сообщений",
        "hello": "Здравствуйте, {name}.",
        "intro": "Выберите, как и о чём нам вам писать.",
        "channels": "Каналы",
        "channels_help": "В выключенный канал не приходят рекламные сообщения. Сообщения, "
        "которые вы запросили (например, подтверждения заказов), приходят как прежде.",
        "topics": "Темы",
        "always": "приходят всегда (вы их запросили)",
        "preferred": "Предпочтительный канал",
        "no_preference": "Без предпочтений",
        "pause": "Пауза в рассылках",
        "pause_keep": "Оставить как есть",
        "pause_1w": "На 1 неделю",
        "pause_1m": "На 1 месяц",
        "pause_3m": "На 3 месяца",
        "pause_resume": "Возобновить сейчас",
        "paused_until": "Рассылки приостановлены до {until} (UTC).",
        "save": "Сохранить настройки",
        "saved": "Сохранено. Спасибо.",
        "email": "Эл. почта",
        "push": "Уведомления в браузере",
        "telegram": "Telegram",
        "sms": "SMS",
        "whatsapp": "WhatsApp",
        "bad_title": "Ссылка не работает",
        "bad_invalid": "Ссылка недействительна. Откройте ссылку из недавнего сообщения.",
        "bad_expired": "Срок действия ссылки истёк. Откройте ссылку из недавнего сообщения.",
        "bad_gone": "По этой ссылке нечего показать.",
        "bad_origin": "Форма отправлена с другого сайта и не сохранена.",
        "bad_form": "В форме что-то не так; ничего не изменено.",
    },
}

CSS = (
    "*{box-sizing:border-box}body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1a1a1a;"
    "background:#f6f6f4}main{max-width:36rem;margin:0 auto;padding:1rem}"
    "h1{font-size:1.5rem;margin:.5rem 0 1rem}fieldset{border:1px solid #bbb;border-radius:8px;"
    "background:#fff;margin:0 0 1rem;padding:.75rem 1rem}legend{font-weight:600;padding:0 .25rem}"
    "label{display:flex;gap:.6rem;align-items:center;min-height:44px}"
    "input[type=checkbox],input[type=radio]{width:1.3rem;height:1.3rem;flex:none}"
    "select{font:inherit;min-height:44px;width:100%}.addr{color:#4a4a4a}"
    ".help{color:#4a4a4a;font-size:.9rem;margin:.25rem 0}"
    "button{font:inherit;font-weight:600;min-height:48px;width:100%;border:0;border-radius:8px;"
    "background:#0b5394;color:#fff;cursor:pointer}button:focus,input:focus,select:focus"
    "{outline:3px solid #f0a000;outline-offset:2px}.note{background:#e6f4ea;color:#14532d;"
    "padding:.75rem;border-radius:8px}footer{color:#4a4a4a;font-size:.85rem;margin-top:1rem}"
    "@media(min-width:48rem){main{padding:2rem}h1{font-size:1.9rem}button{width:auto;"
    "padding:0 2rem}}"
)


def language(*wanted: str | None) -> str:
    """The first of ``wanted`` (a profile locale, an Accept-Language header) we speak."""
    for value in wanted:
        for part in (value or "").replace("_", "-").split(","):
            code = part.split(";")[0].strip().split("-")[0].lower()
            if code in TEXT:
                return code
    return "en"


def _page(lang: str, title: str, body: str, footer: str) -> str:
    foot = f"<footer>{escape(footer)}</footer>" if footer else ""
    return (
        f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        "<meta name='robots' content='noindex'>"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>"
        f"<h1>{escape(title)}</h1>{body}{foot}</main></body></html>"
    )


def error_page(lang: str, key: str, footer: str = "") -> str:
    t = TEXT[lang]
    return _page(lang, t["bad_title"], f"<p>{escape(t[key])}</p>", footer)


def form_page(
    lang: str,
    *,
    profile: Profile,
    topics: dict[str, str],
    token: str,
    now: datetime,
    saved: bool,
    footer: str,
) -> str:
    t = TEXT[lang]
    contact, prefs = profile.contact, profile.preferences
    parts: list[str] = []
    if saved:
        parts.append(f"<p class='note' role='status'>{escape(t['saved'])}</p>")
    name = (contact.first_name or "").strip()
    if name:
        parts.append(f"<p>{escape(t['hello'].format(name=name))}</p>")
    parts.append(f"<p>{escape(t['intro'])}</p>")
    parts.append("<form method='post' action='/p'>")
    parts.append(f"<input type='hidden' name='token' value='{escape(token)}'>")
    channels = [c for c in ("email", "push", "telegram", "sms", "whatsapp") if contact.address(c)]
    rows = []
    for channel in channels:
        on = contact.consents.get(channel) is True and channel not in contact.suppressions
        shown = mask(channel, contact.address(channel))
        rows.append(
            f"<input type='hidden' name='shown' value='{channel}'><label>"
            f"<input type='checkbox' name='channel' value='{channel}'{' checked' if on else ''}>"
            f"<span>{escape(t[channel])} <span class='addr'>{escape(shown)}</span></span></label>"
        )
    if rows:
        parts.append(
            f"<fieldset><legend>{escape(t['channels'])}</legend>"
            f"<p class='help'>{escape(t['channels_help'])}</p>{''.join(rows)}</fieldset>"
        )
    if topics:
        rows = []
        for topic, kind in topics.items():
            label = escape(topic.replace("_", " ").capitalize())
            if kind != "marketing":
                rows.append(
                    "<label><input type='checkbox' checked disabled>"
                    f"<span>{label} <span class='addr'>({escape(t['always'])})</span>"
                    "</span></label>"
                )
                continue
            on = prefs.topics.get(topic, True)
            rows.append(
                f"<input type='hidden' name='shown_topic' value='{escape(topic)}'><label>"
                f"<input type='checkbox' name='topic' value='{escape(topic)}'"
                f"{' checked' if on else ''}><span>{label}</span></label>"
            )
        parts.append(f"<fieldset><legend>{escape(t['topics'])}</legend>{''.join(rows)}</fieldset>")
    if channels:
        options = [("", t["no_preference"])] + [(c, t[c]) for c in channels]
        radios = "".join(
            f"<label><input type='radio' name='preferred' value='{value}'"
            f"{' checked' if (prefs.preferred_channel or '') == value else ''}>"
            f"<span>{escape(text)}</span></label>"
            for value, text in options
        )
        parts.append(f"<fieldset><legend>{escape(t['preferred'])}</legend>{radios}</fieldset>")
    paused = ""
    if prefs.paused(now) and prefs.paused_until is not None:
        until = prefs.paused_until.strftime("%Y-%m-%d %H:%M")
        paused = f"<p class='help'>{escape(t['paused_until'].format(until=until))}</p>"
    choices = ["keep", *PAUSES, "resume"]
    options_html = "".join(
        f"<option value='{c}'>{escape(t['pause_' + c])}</option>" for c in choices
    )
    parts.append(
        f"<fieldset><legend>{escape(t['pause'])}</legend>{paused}"
        f"<label for='pause' class='help'>{escape(t['pause'])}</label>"
        f"<select id='pause' name='pause'>{options_html}</select></fieldset>"
    )
    parts.append(f"<button type='submit'>{escape(t['save'])}</button></form>")
    return _page(lang, t["title"], "".join(parts), footer)
