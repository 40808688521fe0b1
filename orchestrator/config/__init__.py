"""What Omni can be configured with: settings grouped by concern, and the variables that set them.

``worker.py`` is the only place that reads the environment; it hands the mapping to
``WorkerConfig.from_mapping``. Channel groups reuse the channel's own settings class. May import
the channels and the API's settings class; nothing imports this package but ``worker.py``, the
CLI and the dev stack.
"""
