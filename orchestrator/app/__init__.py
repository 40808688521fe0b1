"""The composition root: every process Omni runs (worker, API, codec server) assembled from
the settings — the Temporal client, the store, the channels with their provider clients, the
activities, the workers and the HTTP app — and nothing else.

Belongs here: what reads ``Settings`` to build runtime objects (``clients``: Temporal, store,
scenarios, secrets derived from settings; ``providers``: the channels; ``processes``: the
worker, the API and the codec server). Decisions belong to the packages it wires.

May import everything in the tree but the dev stack and the CLI, which use it (``worker.py``,
``omni worker``/``api``/``codec-server`` and ``omni dev`` start their processes here).
"""
