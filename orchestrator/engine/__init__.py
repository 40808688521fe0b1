"""The engine: how a validated scenario runs on Temporal.

Belongs here: the one generic workflow (``workflow/``: the workflow class and the collaborators
it is made of), its activities, the dataclasses that cross the workflow
boundary (``messages``), send policies (quiet hours, caps, consent), search attributes, run
ids, worker assembly, the event router, tracking tokens, the contact model every layer uses
(``contacts``, with the text and id rules of ``text``), the protocols the engine needs from
storage (``contacts.ContactDirectory``, ``sendlog.SendLog``, ``learning.ReactionStats``,
``learning.ArmLog``, ``timing.ReactionTimes``, ``timing.SendTimeLog``, ...) and, beside each, its
in-memory stand-in for the simulator and tests (held to the SQL store by
tests/store/test_contract_*.py).

May import: ``orchestrator.language`` and ``channels``. Never the store, API, configuration,
composition root, dev stack or CLI: they depend on the engine, and the store is handed in
through the protocols.
"""
