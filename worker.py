"""The Omni worker: the only place that reads configuration and builds clients.

Every setting comes from the environment (documented in README.md, "Configuration").
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client
from temporalio.service import TLSConfig

from channels.base import Channel
from channels.outbox import OutboxChannel
from orchestrator.activities import Activities
from orchestrator.filedirectory import FileDirectory
from orchestrator.loader import load_or_raise
from orchestrator.model import CHANNELS, Scenario
from orchestrator.runtime import build_worker
from orchestrator.sendlog import InMemorySendLog

log = logging.getLogger("omni.worker")


@dataclass(frozen=True)
class WorkerConfig:
    #: host:port of the Temporal frontend (a self-hosted cluster or Temporal Cloud).
    temporal_address: str = "localhost:7233"
    #: Temporal namespace.
    namespace: str = "default"
    #: Task queue shared by the workers and the event router.
    task_queue: str = "omni"
    #: Temporal Cloud API key; implies TLS.
    api_key: str | None = None
    #: mTLS client certificate and key (PEM files).
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: CA bundle for the server certificate (PEM); set to use TLS without client auth.
    tls_ca: Path | None = None
    #: Folders holding scenario YAML and templates.
    scenarios_dir: Path = Path("scenarios")
    templates_dir: Path = Path("templates")
    #: Where development data lives (contacts file, outbox, Temporal dev database).
    data_dir: Path = Path(".data")
    #: Time zone for customers whose profile has none.
    default_timezone: str = "UTC"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> WorkerConfig:
        e = os.environ if env is None else env

        def path(name: str) -> Path | None:
            return Path(e[name]) if e.get(name) else None

        defaults = cls()
        return cls(
            temporal_address=e.get("OMNI_TEMPORAL_ADDRESS", defaults.temporal_address),
            namespace=e.get("OMNI_TEMPORAL_NAMESPACE", defaults.namespace),
            task_queue=e.get("OMNI_TASK_QUEUE", defaults.task_queue),
            api_key=e.get("OMNI_TEMPORAL_API_KEY") or None,
            tls_cert=path("OMNI_TEMPORAL_TLS_CERT"),
            tls_key=path("OMNI_TEMPORAL_TLS_KEY"),
            tls_ca=path("OMNI_TEMPORAL_TLS_CA"),
            scenarios_dir=path("OMNI_SCENARIOS_DIR") or defaults.scenarios_dir,
            templates_dir=path("OMNI_TEMPLATES_DIR") or defaults.templates_dir,
            data_dir=path("OMNI_DATA_DIR") or defaults.data_dir,
            default_timezone=e.get("OMNI_DEFAULT_TIMEZONE", defaults.default_timezone),
        )

    def tls(self) -> TLSConfig | bool:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("set both OMNI_TEMPORAL_TLS_CERT and OMNI_TEMPORAL_TLS_KEY for mTLS")
        if self.tls_cert and self.tls_key:
            return TLSConfig(
                client_cert=self.tls_cert.read_bytes(), client_private_key=self.tls_key.read_bytes(),
                server_root_ca_cert=self.tls_ca.read_bytes() if self.tls_ca else None)
        if self.tls_ca:
            return TLSConfig(server_root_ca_cert=self.tls_ca.read_bytes())
        return self.api_key is not None


async def connect(config: WorkerConfig) -> Client:
    return await Client.connect(config.temporal_address, namespace=config.namespace,
                                api_key=config.api_key, tls=config.tls())


def load_scenarios(config: WorkerConfig) -> dict[str, Scenario]:
    """Validated at start: a broken scenario stops the worker with file:line errors."""
    return load_or_raise([config.scenarios_dir], config.templates_dir)


def build_activities(config: WorkerConfig) -> Activities:
    outbox = config.data_dir / "outbox"
    channels: dict[str, Channel] = {
        name: OutboxChannel(name, file=outbox / f"{name}.jsonl") for name in CHANNELS
    }
    return Activities(directory=FileDirectory(config.data_dir / "contacts.json"),
                      send_log=InMemorySendLog(), channels=channels,
                      default_timezone=config.default_timezone)


async def run(config: WorkerConfig, client: Client | None = None) -> None:
    scenarios = load_scenarios(config)
    client = client or await connect(config)
    log.info("worker on %s/%s queue %s with %d scenarios", config.temporal_address,
             config.namespace, config.task_queue, len(scenarios))
    await build_worker(client, task_queue=config.task_queue,
                       activities=build_activities(config)).run()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    asyncio.run(run(WorkerConfig.from_env()))
