"""How provider errors are kept: a short reason code in the run's history (no address, no
provider text), the full words in the send log; and how often an untyped error is retried."""

from __future__ import annotations

import re

#: Attempts at a message whose channel adapter raised something it did not type (a bug, or
#: data the provider's library refuses, such as CR/LF in a header): retried in case it was
#: passing, then recorded as a permanent failure so the ladder moves on.
UNEXPECTED_ERROR_ATTEMPTS = 3


def reason_code(reason: str) -> str:
    """The short code a channel error starts with (``invalid_address: SMTP 550 <a@b>…`` ->
    ``invalid_address``): what workflow history may keep of a provider's answer."""
    code = reason.split(":", 1)[0].strip()
    return code if re.fullmatch(r"[a-z_]{1,40}", code) else "rejected"
