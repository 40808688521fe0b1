"""The HTTP API (FastAPI): events, contacts, tracking, unsubscribe and provider webhooks.

Its settings are ``api.settings.ApiSettings`` (the configuration fills them; that module
imports pydantic only). May import: the language, the engine (router, messages, tracking
tokens), the store and ``channels``. Never the configuration, the composition root, the dev
stack or the CLI.
"""
