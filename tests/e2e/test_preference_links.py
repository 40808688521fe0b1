"""The preference center from every message, on the dev server with the four real peers: a
marketing SMS, Telegram message and web push carry a short link (``/p/<code>``: no id, no
token), the email its footer link. Read off the bytes each provider received — the Twilio
form body, the Bot API call, the push payload the push service decrypted, the SMTP DATA — for
three customers sharing the campaign key, each link opens that customer's page and no one
else's; tampered, unknown, expired, wrong-kind and erased links open nothing."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import pytest
from e2e_stack import Running, local, running_stack
from peers.providers import Providers, four_providers
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from orchestrator.engine.tracking import Tracker
from orchestrator.store.tables import ShortLinkRow

SCENARIO = """
scenario: news
topic: newsletter
trigger: {event: news_published, per: issue.id}
steps:
  - send: {sms: news/issue}
  - send: {telegram: news/issue}
  - send: {push: news/issue}
  - send: {email: news/issue}
sample:
  news_published: {issue: {id: i-1, title: Spring, url: "https://shop.example/spring"}}
"""
TEMPLATES = {
    "news/issue/sms": "{% block text %}{{ contact.first_name }}: {{ issue.title }} "
    "{{ link(issue.url) }}{% endblock %}",
    "news/issue/sms.ru": "{% block text %}{{ contact.first_name }}: выпуск {{ issue.title }} "
    "{{ link(issue.url) }}{% endblock %}",
    "news/issue/telegram": "{% block text %}<b>{{ issue.title }}</b> for "
    "{{ contact.first_name }}{% endblock %}",
    "news/issue/push": "{% block title %}{{ issue.title }}{% endblock %}"
    "{% block body %}For {{ contact.first_name }}{% endblock %}"
    "{% block url %}{{ link(issue.url) }}{% endblock %}",
    "news/issue/email": "{% block subject %}{{ issue.title }}{% endblock %}"
    "{% block html %}<p>For {{ contact.first_name }}</p>{% endblock %}",
}
#: Customer id -> (first name, phone, Telegram chat, locale). Names are what customers type.
CUSTOMERS = {
    "pref-ana": ('<b>Ana</b> & "Co"', "+15005550101", "9101", "en"),
    "pref-ben": ("Ben\r\nBcc: x@evil.example 😀", "+15005550102", "9102", "en"),
    "pref-cyr": ("Кира\u202e", "+15005550103", "9103", "ru"),
}
CODE = re.compile(r"http://127\.0\.0\.1:\d+/p/([A-Za-z0-9_-]{12})")


@dataclass
class Links:
    """Each customer's links, as read off the providers' bytes."""

    sms: dict[str, str]
    telegram: dict[str, str]
    push: dict[str, str]
    email: dict[str, str]

    def of(self, customer: str) -> list[str]:
        return [self.sms[customer], self.telegram[customer], self.push[customer]]


@pytest.fixture
async def sent(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> AsyncIterator[tuple[Running, Providers, Links]]:
    async with (
        four_providers() as p,
        running_stack(
            dev_env, tmp_path, SCENARIO, TEMPLATES, p.channels, trusted_push=(p.push_base,)
        ) as run,
    ):
        for cid, (name, phone, chat, locale) in CUSTOMERS.items():
            contact = {
                "email": f"{cid}@example.com",
                "phone": phone,
                "telegram_chat_id": chat,
                "push_subscriptions": [p.push.subscribe(f"dev-{cid}")],
                "first_name": name,
                "locale": locale,
                "consents": {"email": True, "push": True, "telegram": True, "sms": True},
            }
            await run.post_event(
                {
                    "name": "news_published",
                    "customer_id": cid,
                    "event_id": f"{cid}-news",
                    # The same issue id for everyone: each customer's run is their own.
                    "data": {"issue": {"id": "i-1", "title": "Spring", "url": "https://s.ex/a"}},
                    "contact": contact,
                }
            )
        for cid in CUSTOMERS:
            # Waited for without a deadline of its own (pytest's timeout is the backstop):
            # twelve sends on a loaded machine may take a while.
            handle = run.svc.client.get_workflow_handle(f"news/customer-{cid}/issue-i-1")
            state = await handle.result()
            assert [m["status"] for m in state["messages"]] == ["sent"] * 4, state
        yield run, p, read_links(p)
    assert p.violations() == []


def read_links(p: Providers) -> Links:
    by_phone = {phone: cid for cid, (_, phone, _, _) in CUSTOMERS.items()}
    by_chat = {chat: cid for cid, (_, _, chat, _) in CUSTOMERS.items()}
    sms, telegram, push, email = {}, {}, {}, {}
    for raw in p.twilio.wire:  # the form body as it came over the wire
        form = {k: v[0] for k, v in parse_qs(raw.decode("ascii"), strict_parsing=True).items()}
        cid = by_phone[form["To"]]
        body = form["Body"]
        label = "Настройки" if CUSTOMERS[cid][3] == "ru" else "Preferences"
        last = body.rsplit("\n", 1)[1]
        found = CODE.fullmatch(last.removeprefix(f"{label}: "))
        assert found is not None, body
        sms[cid] = found.group(0)
    for params in p.telegram.sent:
        cid = by_chat[str(params["chat_id"])]
        text = str(params["text"])
        found = re.search(r'\n\n<a href="(http://[^"]+)">Preferences</a>$', text)
        assert found is not None and CODE.fullmatch(found.group(1)), text
        telegram[cid] = found.group(1)
        # The template links nowhere: no preview card of the customer's page.
        assert json.loads(params["link_preview_options"]) == {"is_disabled": True}
    for got in p.push.received:  # decrypted by the push service
        cid = got["device"].removeprefix("dev-")
        (action,) = got["payload"]["actions"]
        assert action["action"] == "preferences" and action["title"] == "Preferences"
        assert CODE.fullmatch(action["url"]), action
        push[cid] = action["url"]
    for mail in p.smtp.received:
        cid = mail.recipients[0].split("@")[0]
        text = mail.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        found = re.search(r"\nPreferences: (http://\S+/p/\S+\.\S+)", text)
        assert found is not None, text
        email[cid] = found.group(1)
    return Links(sms, telegram, push, email)


def masked(phone: str) -> str:
    return f"{phone[:2]}{'•' * (len(phone) - 6)}{phone[-4:]}"


async def page(run: Running, url: str) -> tuple[int, str]:
    got = await run.http.get(local(url))
    return got.status_code, got.text


def shows_only(text: str, cid: str) -> None:
    """The page is ``cid``'s: their masked number and name, nobody else's."""
    for other, (name, phone, _, _) in CUSTOMERS.items():
        mine = other == cid
        assert (masked(phone) in text) is mine, (cid, other)
        first = re.split(r"[<\r\n]", name.replace("<b>", ""))[0]
        assert (first in text) is mine, (cid, other, first)
        assert phone not in text and f"{other}@example.com" not in text


async def test_every_message_links_to_its_own_customers_page(
    sent: tuple[Running, Providers, Links],
) -> None:
    run, _, links = sent
    codes = [url.rsplit("/", 1)[1] for cid in CUSTOMERS for url in links.of(cid)]
    assert len(set(codes)) == 9  # one code per message
    for cid in CUSTOMERS:
        for url in [*links.of(cid), links.email[cid]]:
            assert cid not in url and "pref" not in url
            status, text = await page(run, url)
            assert status == 200, (cid, url, text)
            shows_only(text, cid)
        if CUSTOMERS[cid][3] == "ru":
            assert "Настройки сообщений" in (await page(run, links.sms[cid]))[1]
    _, ana = await page(run, links.sms["pref-ana"])
    assert "&lt;b&gt;Ana&lt;/b&gt; &amp;" in ana and "<b>Ana</b>" not in ana


async def test_saving_through_a_short_link_changes_that_customer_only(
    sent: tuple[Running, Providers, Links],
) -> None:
    run, _, links = sent
    url = links.telegram["pref-ben"]
    _, text = await page(run, url)
    form = form_of(text)
    code = url.rsplit("/", 1)[1]
    assert form["token"] == [code]  # the page keeps the code: no token in the address bar
    form["channel"] = [c for c in form["channel"] if c != "sms"]
    done = await run.http.post(
        "/p",
        content=urlencode([(k, v) for k, vs in form.items() for v in vs]).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": str(run.http.base_url).rstrip("/"),
        },
    )
    assert done.status_code == 303 and done.headers["location"] == f"/p/{code}?saved=1"
    contacts = run.svc.contacts
    ben = await contacts.get("pref-ben")
    assert ben is not None and ben.consents["sms"] is False and ben.consents["email"] is True
    history = await contacts.history("pref-ben")
    assert history["consents"]["sms"]["source"] == "preference_center"
    for other in ("pref-ana", "pref-cyr"):
        contact = await contacts.get(other)
        assert contact is not None and all(contact.consents.values())


async def test_hostile_links_open_nothing(sent: tuple[Running, Providers, Links]) -> None:
    run, p, links = sent
    code = links.sms["pref-ana"].rsplit("/", 1)[1]
    flipped = code[:-1] + ("A" if code[-1] != "A" else "B")
    click_code = re.search(r"/s/([A-Za-z0-9_-]{8})", p.twilio.messages[0]["Body"])
    assert click_code is not None
    # The stack's secret, a code made long ago.
    tracker = Tracker(b"e" * 32, "http://127.0.0.1:1", clock=lambda: 1_000_000.0)
    _, old_code, old_token = tracker.short_preferences(customer_id="pref-ana", channel="sms")
    await run.svc.short_links.save([(old_code, old_token)], customer_id="pref-ana")
    cases = {
        flipped: 404,  # tampered
        "A" * 12: 404,  # guessed
        "a" * 17: 404,  # longer than any code
        "%00%0d%0a": 404,
        click_code.group(1): 404,  # a click code is not a preference link
        old_code: 410,  # expired
    }
    for bad, status in cases.items():
        got = await run.http.get(f"/p/{bad}")
        assert got.status_code == status, (bad, got.text)
        assert "example.com" not in got.text and "•" not in got.text
        posted = await run.http.post(
            "/p",
            content=urlencode({"token": bad, "shown": "sms"}).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert posted.status_code == status
    # A preference code is no click link either.
    assert (await run.http.get(f"/s/{code}")).status_code == 404
    ana = await run.svc.contacts.get("pref-ana")
    assert ana is not None and all(ana.consents.values())


async def test_erasure_deletes_the_codes_and_their_pages(
    sent: tuple[Running, Providers, Links],
) -> None:
    run, _, links = sent
    auth = {"Authorization": f"Bearer {run.key}"}
    form = form_of((await page(run, links.push["pref-cyr"]))[1])
    assert (await run.http.delete("/v1/contacts/pref-cyr", headers=auth)).status_code == 204
    for url in [*links.of("pref-cyr"), links.email["pref-cyr"]]:
        status, text = await page(run, url)
        assert status == 404 and "•" not in text, url
    posted = await run.http.post(
        "/p",
        content=urlencode([(k, v) for k, vs in form.items() for v in vs]).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert posted.status_code == 404
    async with run.svc.contacts.sessions() as s:
        whose = (await s.execute(select(ShortLinkRow.customer_id))).scalars().all()
    assert "pref-cyr" not in whose and "pref-ana" in whose  # codes of others stay
    # A new customer under the same id is not the one the old links were made for.
    await run.http.put(
        "/v1/contacts/pref-cyr", headers=auth, json={"phone": "+15005550199", "consents": {}}
    )
    for url in links.of("pref-cyr"):
        assert (await page(run, url))[0] == 404
    for cid in ("pref-ana", "pref-ben"):
        status, text = await page(run, links.sms[cid])
        assert status == 200
        shows_only(text, cid)


def form_of(page_text: str) -> dict[str, list[str]]:
    """The values the page's form posts as it stands (checked boxes, the checked radio)."""
    out: dict[str, list[str]] = {}
    for tag in re.findall(r"<input[^>]*>", page_text):
        name = re.search(r"name='([^']*)'", tag)
        value = re.search(r"value='([^']*)'", tag)
        if name is None or value is None:
            continue
        kind = re.search(r"type='([^']*)'", tag)
        if kind and kind.group(1) in ("checkbox", "radio") and " checked" not in tag:
            continue
        out.setdefault(name.group(1), []).append(value.group(1))
    return out
