"""The engine: how a validated scenario runs on Temporal.

Belongs here: the one generic workflow (``workflow/``: the workflow class and the collaborators
it is made of), its activities, the dataclasses that cross the workflow boundary
(``messages``), send policies (quiet hours, caps, consent), search attributes, run ids, worker
assembly, the event router, tracking tokens, and the protocols the engine needs from storage
(``contacts.ContactDirectory``, ``sendlog.SendLog``, and for learning and send times
``learning.ReactionStats``, ``learning.ArmLog``, ``timing.ReactionTimes``,
``timing.SendTimeLog``).

May import: ``orchestrator.language`` and ``channels``. Never the store, API, configuration,
composition root, dev stack or CLI: they depend on the engine, and the store is handed in
through the protocols.
"""
