"""Arbitrary unicode at the console's forms (login, customer search, preview by customer id,
test send) and in its cookie: a 2xx, 3xx or 4xx answer, never a 5xx, and the console still
answers afterwards. The strings are the API fuzz test's (surrogates, NUL, RTL marks,
combining characters, 4-byte emoji, huge sizes); OMNI_FUZZ_EXAMPLES sets how many."""

from __future__ import annotations

import httpx
from console_stack import ConsoleStack, csrf_of, logged_in
from odd_text import EXAMPLES, draw, form_text

ORIGIN = "Origin"


async def test_console_forms_never_answer_5xx(stack: ConsoleStack) -> None:
    values = draw(EXAMPLES)
    async with logged_in(stack) as client:
        for value in values:
            text = form_text(value)
            page = await client.get("/console/customers")
            token = csrf_of(page.text)
            for path, data in (
                ("/console/customers", {"q": text}),
                (
                    "/console/preview",
                    {
                        "scenario": "console_play",
                        "template": "play/reminder/email",
                        "customer": text,
                    },
                ),
                (
                    "/console/test-send",
                    {
                        "scenario": "console_play",
                        "template": "play/reminder/email",
                        "address": text,
                    },
                ),
                ("/console/customers", {"q": text, "csrf": text}),
            ):
                answer = await client.post(
                    path, data={"csrf": token, **data}, headers={ORIGIN: stack.base}
                )
                assert answer.status_code < 500, (path, value, answer.status_code)
        assert (await client.get("/console")).status_code == 200  # still answering
    # Last: guessing at the login from this address runs into its throttle (429).
    async with httpx.AsyncClient(base_url=stack.base, timeout=30) as anonymous:
        for value in values:
            text = form_text(value)
            form = await anonymous.get("/console/login")
            assert form.status_code < 500
            if 'name="csrf"' not in form.text:
                assert form.status_code == 429 or "Too many" in form.text, form.text[:300]
                break  # the login throttle holds this address back: as it should a guesser
            answer = await anonymous.post(
                "/console/login",
                data={"csrf": csrf_of(form.text), "secret": text},
                headers={ORIGIN: stack.base},
            )
            assert answer.status_code < 500, (value, answer.status_code)
            if answer.status_code == 429:
                break  # the login throttle: what it should do to a guesser
        odd = httpx.AsyncClient(
            base_url=stack.base, cookies={"omni_console": form_text(values[0]) or "x"}
        )
        async with odd:
            assert (await odd.get("/console")).status_code < 500
