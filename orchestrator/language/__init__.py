"""The scenario language: what marketers write and everything that checks it.

Belongs here: the scenario model, YAML positions, the parser and semantic checks, the JSON
Schema, durations, expressions, policy phrases (quiet hours, caps), samples, problems, the
loader and template rendering (Jinja2 sandbox).

May import: the standard library, third-party parsing/rendering libraries and ``channels.base``
(the rendered-message type and SMS segments). Never the engine, store, API, dev stack or CLI:
the language must be usable by a validator that runs no workflow.
"""
