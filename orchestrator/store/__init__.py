"""The customer store and send log in SQL (SQLite by default, PostgreSQL by DATABASE_URL).

Implements the engine's storage protocols (contacts, send log, run index) and holds the tables
and migrations (``urls`` names the store as text, for the configuration). May import the
language and engine types it stores; never the API, the configuration, the composition root,
the dev stack or the CLI.
"""
