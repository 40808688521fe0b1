"""The HTTP API (FastAPI): events, contacts, tracking, unsubscribe and provider webhooks.

May import: the language, the engine (router, messages, tracking tokens) and the store. Never
the dev stack or the CLI.
"""
