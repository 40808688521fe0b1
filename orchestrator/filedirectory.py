"""A contact directory kept in a JSON file: the development stack's stand-in until the SQL
store lands. The worker rereads the file when it changes, so CLI edits take effect at once."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from orchestrator.contacts import Contact


class FileDirectory:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._mtime: float | None = None
        self._contacts: dict[str, Contact] = {}

    def _load(self) -> dict[str, Contact]:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return {}
        if mtime != self._mtime:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            self._contacts = {str(c["id"]): Contact.from_json(c) for c in raw}
            self._mtime = mtime
        return self._contacts

    async def get(self, contact_id: str) -> Contact | None:
        return self._load().get(contact_id)

    def put(self, contact: Contact) -> None:
        """Insert or replace; written to a temp file and renamed, so never half-written."""
        contacts = dict(self._load())
        contacts[contact.id] = contact
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump([c.public() for c in contacts.values()], fh, indent=2, ensure_ascii=False)
        os.replace(tmp, self.path)
