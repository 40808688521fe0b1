"""The customer store and send log in SQL (SQLite by default, PostgreSQL by DATABASE_URL).

Implements the engine's storage protocols (contacts, send log, run index) and holds the tables
and migrations. May import the language and engine types it stores; never the API, dev stack
or CLI.
"""
