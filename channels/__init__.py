"""Delivery channels behind one small protocol (``channels.base``): one module per provider.

Adapters take their clients and settings in the constructor and never read the environment;
``worker.py`` wires them. May import nothing of ``orchestrator/``: the engine hands them an
``Outbound`` and gets a ``Delivery`` or a typed error back.
"""
