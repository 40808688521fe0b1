"""The HTTP API (FastAPI): events, contacts, tracking, unsubscribe and provider webhooks."""
