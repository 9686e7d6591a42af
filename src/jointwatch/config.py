"""Node settings: one object, read from ``JOINTWATCH_*`` environment variables.

Every default here is documented in README.md ("Configuration"); keep the two in step.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration of one JointWatch node."""

    model_config = SettingsConfigDict(env_prefix="JOINTWATCH_", extra="ignore")

    data_dir: Path = Field(
        default=Path(".jointwatch"),
        description="Where the SQLite database, the Parquet archive and the raw journal live.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; unset means SQLite at DATA_DIR/jointwatch.db.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    sources: list[str] = Field(
        default_factory=list,
        description="Sources the node reads itself, e.g. tcp-listen://:10110, udp://:10110.",
    )
    dedupe_window_s: float = 30.0
    assembly_timeout_s: float = 10.0
    archive_flush_s: float = 30.0
    # Rows that make a checkpoint due before ``archive_flush_s`` does (bulk ingest). Every
    # checkpoint rewrites each changed vessel's row, so fewer, larger ones cost less per
    # position: 500,000 took about a fifth off B2 against 100,000, for about 90 MB more peak
    # memory and up to 500,000 positions to replay after a kill (docs/performance.md).
    archive_flush_rows: int = 500_000
    state_flush_s: float = 5.0
    ws_push_interval_s: float = 1.0
    journal: bool = True
    detect: bool = Field(default=True, description="Run the detectors on every batch.")
    detect_config: Path | None = Field(
        default=None, description="TOML file of detector parameters (docs/detectors.md)."
    )
    zones_file: Path | None = Field(
        default=None, description="GeoJSON zones stored when a node starts with no zones."
    )

    nation: str = Field(
        default="ZZZ",
        description="This node's nation (ISO 3166 alpha-3, e.g. USA). ZZZ means not set: "
        "records stay local until it is.",
    )
    node_name: str | None = Field(
        default=None, description="This node's name in record ids; unset means jw-<nation>."
    )
    classification_levels: list[str] = Field(
        default_factory=lambda: ["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET"],
        description="The deployment's classification scale, lowest first.",
    )
    event_marking: str = Field(
        default="UNCLASSIFIED//NOFORN",
        description="Marking of detector alerts (banner form, e.g. "
        "'UNCLASSIFIED//REL TO ASEAN-MARSEC'); the default keeps them on this node.",
    )
    session_hours: float = Field(default=12.0, description="Console login lifetime.")
    federation: bool = Field(default=True, description="Push to and pull from partner nodes.")
    federation_pull_s: float = Field(
        default=30.0, description="Seconds between pulls from each partner (catch-up)."
    )
    federation_batch: int = Field(default=500, description="Records per push or pull request.")
    tls_certfile: Path | None = Field(default=None, description="PEM certificate: serve HTTPS.")
    tls_keyfile: Path | None = Field(default=None, description="PEM private key for HTTPS.")

    @property
    def effective_node_name(self) -> str:
        """The node's name in record ids."""
        return self.node_name or f"jw-{self.nation.lower()}"

    @property
    def effective_database_url(self) -> str:
        """The database URL actually used: SQLite in the data directory unless overridden."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'jointwatch.db').resolve()}"
