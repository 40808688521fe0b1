"""Omni: marketer-written YAML scenarios run as durable Temporal workflows.

The packages, from the bottom up (docs/architecture.md draws the data flow):

- ``language``: what a marketer writes (scenario YAML, templates, conditions) and its checks.
- ``engine``: the one workflow that runs a scenario, its activities and the event router.
- ``store``: SQL implementations of the engine's protocols (contacts, send log, run index).
- ``api``: the HTTP API: events, contacts, tracking and provider webhooks.
- ``dev``: the local stack (dev server, sinks, simulator, doctor), for the CLI only.
- ``cli``: the ``omni`` command on top of all of them.

Each package's docstring says what it may import; tests/test_architecture.py enforces it.
"""
