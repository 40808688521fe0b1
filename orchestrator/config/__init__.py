"""What Omni can be configured with: settings grouped by concern, the variables that set them,
and the one place that reads them.

``settings.load_settings`` reads the environment (through pydantic-settings; nothing else in
the tree reads it) into ``settings.Settings``: Omni's own groups (``groups``), the engine's
frequency policy, the API's and console's settings and one group per channel, each declared
where its concept lives. ``variables`` binds each variable to its field and makes the
configuration table of docs/operations.md. ``redact`` keeps the secrets out of logs.

May import the channels' settings and the settings models of the API, console and engine, and
light modules of the language, engine and store; never Temporal, SQLAlchemy or FastAPI (the
CLI reads the settings without paying for them). Imported by the composition root
(``orchestrator.app``), the CLI and the dev stack only.
"""
