"""The customer store and send log in SQL (SQLite by default, PostgreSQL by DATABASE_URL)."""
