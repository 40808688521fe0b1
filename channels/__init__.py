"""Delivery channels behind the protocols of ``channels.base``: one module per provider, each
adapter naming the protocols it implements (``Channel``, and ``FindsSent`` / ``ShowsAsSent``
where its provider can), the recording channel (``recording``) and the one token bucket
(``ratelimit``).

Adapters take their clients and settings in the constructor and never read the environment;
the composition root (``orchestrator.app.providers``) wires them. Each channel's settings are a
pydantic model in ``channels.settings``, apart from the adapters, so reading the configuration
never imports a provider's library. May import pydantic and the providers' libraries, nothing
of ``orchestrator/``: the engine hands them an ``Outbound`` and gets a ``Delivery`` or a typed
error back.
"""
