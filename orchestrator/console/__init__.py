"""The marketer's console: server-rendered pages at /console (scenarios with their diagram and
funnel, messages as the customer sees them, previews and test sends, customers), behind a
login, with CSRF tokens on every form.

May import: the language, the engine, the store, channels and the API's services and reaction
helpers. Never the dev stack, the CLI, the configuration or the composition root (which hands
it its settings, ``console.settings``, and builds it).
"""
