"""The local development stack: dev server and its binaries, local sinks, doctor, simulator.

May import anything in ``orchestrator``, the composition root (``orchestrator.app``) included.
Only ``orchestrator.cli`` imports it: nothing a production process runs depends on the dev
stack.
"""
