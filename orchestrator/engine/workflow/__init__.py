"""The one generic workflow (``ScenarioRun``) and the collaborators it is made of.

Belongs here: workflow code only — ``run.ScenarioWorkflow`` (the ``@workflow.defn``: handlers,
the main loop, how a run ends) and the plain classes it composes, one job each: the
``Timeline`` (what the run records and shows), the ``Clock`` (timers, waits, the stop
checkpoint), the ``Inbox`` and the ``Generation`` (events delivered, and what the current
trigger's share of the run heard), ``Conditions``, the experiment ``Arms``, the ``Learner``,
the ``Sender`` (and its ``BestTime``, the hold of a send for its customer's best hour), the
``Ladder``, the digest ``Collector`` and the ``Steps`` interpreter. None
inherits from another: each gets what it uses in its constructor. docs/architecture.md draws
who calls whom.

Deterministic like all workflow code: no I/O, no clock but ``workflow.now()``, every decision
from an activity or a local activity, recorded in history.

May import: the engine's messages, labels, search attributes and pure helpers, the language
model, and the activity classes only to name their methods (``Activities.send``), passed
through the sandbox, never called.
"""

from orchestrator.engine.workflow.run import ScenarioWorkflow

__all__ = ["ScenarioWorkflow"]
