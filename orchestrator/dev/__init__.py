"""The local development stack: dev server and its binaries, local sinks, doctor, simulator.

May import anything in ``orchestrator`` and ``worker``. Only ``orchestrator.cli`` and
``worker.py`` import it: nothing a production process runs depends on the dev stack.
"""
