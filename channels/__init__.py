"""Delivery channels behind the protocols of ``channels.base``: one module per provider, each
adapter naming the protocols it implements (``Channel``, and ``FindsSent`` / ``ShowsAsSent``
where its provider can), the recording channel (``recording``) and the one token bucket
(``ratelimit``).

Adapters take their clients and settings in the constructor and never read the environment;
``worker.py`` wires them. May import nothing of ``orchestrator/``: the engine hands them an
``Outbound`` and gets a ``Delivery`` or a typed error back.
"""
