"""The customer store and send log in SQL (SQLite by default, PostgreSQL by DATABASE_URL).

Implements the engine's storage protocols (contacts, send log, run index, reactions, arms,
events' data) as their in-memory stand-ins do (one contract suite holds them together), writes
the engine's contact model, and holds the tables and migrations. May import the language and
engine types it stores; never the API, the configuration, the composition root, the dev
stack or the CLI (``urls`` names the store as text, for the configuration).
"""
