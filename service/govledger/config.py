"""The one place configuration is read: environment variables with the ``GOVLEDGER_`` prefix (or a .env file).

Nothing else in govledger reads ``os.environ``. Secrets are ``SecretStr`` so that they never show up in a
repr, a log line or an error body, and the validators refuse placeholder secrets outside the demo, so an
insecure default can never be inherited by production.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from govledger.errors import ConfigurationError

#: Passphrases that only ever appear in examples; refused outside the demo.
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "password", "passphrase", "secret", "demo", "govledger"})
MIN_PASSPHRASE_LENGTH = 12


class Settings(BaseSettings):
    """Everything an operator can configure. See README.md, "Configuration for a real network"."""

    model_config = SettingsConfigDict(env_prefix="GOVLEDGER_", env_file=".env", extra="ignore")

    # -- where things live
    data_dir: Path = Field(default=Path(".govledger"), description="Folder for the SQLite database, keys, records.")
    network: str = Field(default="local", pattern=r"^[a-z0-9][a-z0-9_-]{0,40}$", description="Deployment name.")
    deployment_file: Path | None = Field(default=None, description="Default: deployments/<network>.json")
    database_url: str | None = Field(default=None, description="Default: SQLite file in data_dir.")

    # -- the chain
    chain_url: str = Field(default="embedded", description="'embedded' or an http(s) JSON-RPC URL of a node.")
    chain_id: int | None = Field(default=None, description="Expected chain id; start-up fails if the node differs.")
    tx_type: Literal["auto", "legacy", "eip1559"] = "auto"
    gas_price_wei: int | None = Field(default=None, ge=0, description="Fixed gas price (or max fee); None: ask node.")
    priority_fee_wei: int | None = Field(default=None, ge=0)
    confirmations: int = Field(default=1, ge=1, le=1000, description="Blocks on top before an action is final.")

    # -- keys
    keystore_dir: Path | None = Field(default=None, description="Default: <data_dir>/keystore")
    keystore_passphrase: SecretStr | None = None
    keystore_passphrase_file: Path | None = None
    keystore_scrypt_n: int = Field(default=2**15, ge=2**10, le=2**20)

    # -- transaction manager
    max_in_flight_per_account: int = Field(default=512, ge=1, le=10_000)
    receipt_poll_seconds: float = Field(default=0.2, gt=0, le=30)
    rebroadcast_after_seconds: float = Field(default=30.0, gt=0)
    wait_timeout_seconds: float = Field(default=30.0, gt=0, le=300)

    # -- record batching
    batch_max_records: int = Field(default=1000, ge=1, le=10_000, description="Records per Merkle batch at most.")
    batch_max_delay_seconds: float = Field(
        default=0.5,
        gt=0,
        le=60,
        description="Longest a record waits for its batch to be sealed; it is on chain about one block later. "
        "Short, because sealing more often costs little: an anchorBatch transaction costs ~58,000 gas however "
        "many records it anchors.",
    )

    # -- indexer
    indexer_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    request_threads: int = Field(
        default=40,
        ge=1,
        le=1000,
        description="Threads that run the API's request handlers (anyio's thread limiter).",
    )
    chain_request_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="Longest wait for one answer from the node. A node that hangs then costs a request this "
        "long before its 503, not a worker thread held indefinitely.",
    )
    verification_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        le=300,
        description="How long the evidence behind a public verification answer is reused for the same "
        "certificate; this service's own status changes clear it at once. 0 looks up every time.",
    )
    api_key_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="How long an API process trusts a key it has verified before checking the database again; "
        "a key revoked from another process keeps working at most this long. 0 checks every request.",
    )
    authority_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        le=300,
        description="How long a department's status and roles read from the Consortium are reused before asking "
        "the node again; 0 asks on every write. The contracts refuse a suspended department regardless.",
    )

    # -- HTTP
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_base_url: str | None = Field(
        default=None, description="Public address of the pages, encoded in certificate QR codes (https://…)."
    )
    block_explorer_tx_url: str | None = Field(
        default=None, description="Explorer link for transactions on the pages, with {tx_hash} (and {block_number})."
    )
    api_processes: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Processes serving HTTP (`serve --processes`). 1: one process serves and runs the background "
        "workers. More: that many API processes plus one background-worker process, all sharing the database; "
        "needs a node URL (not the embedded chain). Rate limits are then per API process, and the department "
        "authority and verification caches of an API process expire only by time (their *_cache_seconds).",
    )
    max_request_bytes: int = Field(default=8 << 20, ge=1024, description="Larger request bodies get 413.")
    public_rate_limit_per_minute: int = Field(default=120, ge=1)
    auth_failure_limit_per_minute: int = Field(default=20, ge=1)

    demo: bool = Field(default=False, description="Demo mode: placeholder secrets allowed, embedded chain.")

    @model_validator(mode="after")
    def _refuse_unsafe_production_settings(self) -> Settings:
        if self.demo:
            return self
        if self.keystore_passphrase is not None:
            value = self.keystore_passphrase.get_secret_value()
            if value.lower() in PLACEHOLDER_SECRETS or len(value) < MIN_PASSPHRASE_LENGTH:
                raise ValueError(
                    f"GOVLEDGER_KEYSTORE_PASSPHRASE is a placeholder or shorter than {MIN_PASSPHRASE_LENGTH} "
                    "characters; choose a real passphrase"
                )
        return self

    # -- derived values

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'govledger.db').resolve()}"

    @property
    def resolved_deployment_file(self) -> Path:
        return self.deployment_file or Path("deployments") / f"{self.network}.json"

    @property
    def resolved_keystore_dir(self) -> Path:
        return self.keystore_dir or self.data_dir / "keystore"

    def passphrase(self) -> SecretStr:
        """The keystore passphrase from the environment or its file; never logged, never returned."""
        if self.keystore_passphrase is not None:
            return self.keystore_passphrase
        if self.keystore_passphrase_file is not None:
            try:
                text = self.keystore_passphrase_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigurationError(
                    f"cannot read the keystore passphrase file {self.keystore_passphrase_file}: {exc.strerror}"
                ) from None
            if not self.demo and (text.lower() in PLACEHOLDER_SECRETS or len(text) < MIN_PASSPHRASE_LENGTH):
                raise ConfigurationError("the keystore passphrase file holds a placeholder or too short a passphrase")
            return SecretStr(text)
        raise ConfigurationError(
            "no keystore passphrase: set GOVLEDGER_KEYSTORE_PASSPHRASE or GOVLEDGER_KEYSTORE_PASSPHRASE_FILE"
        )


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (CLI options) on top."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ConfigurationError(f"invalid configuration: {exc}") from None
