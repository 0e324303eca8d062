"""The running service's parts, built once from Settings: database, chain, deployment, keys, workers.

The API, the CLI's ``serve`` and ``worker`` commands and the demo all build a ``Runtime`` and then only
talk to it. Building one checks everything that must be right before serving a single request: migrations
applied, the node is the configured chain, the contracts at the recorded addresses are this service's own
code, and the keystore unlocks.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, text

from govledger.certificates.service import CertificateService
from govledger.chain.client import Chain, Web3Chain
from govledger.chain.deploy import Deployment, verify_deployment
from govledger.chain.txmanager import TxManager, TxManagerOptions
from govledger.config import Settings
from govledger.consortium.authority import DepartmentAuthority
from govledger.consortium.departments import encode_department_code
from govledger.db.engine import create_db_engine, session_scope
from govledger.errors import GovLedgerError
from govledger.indexer import BackgroundIndexer, Indexer, start_in_background
from govledger.keys import Keystore, Signer
from govledger.records.batches import BatchWriter, RecordBatcher
from govledger.records.service import RecordService
from govledger.sharing.service import SharingService

log = logging.getLogger(__name__)


def connect_chain(settings: Settings) -> Web3Chain:
    return Web3Chain(
        settings.chain_url,
        expected_chain_id=settings.chain_id,
        tx_type=settings.tx_type,
        gas_price_wei=settings.gas_price_wei,
        priority_fee_wei=settings.priority_fee_wei,
        request_timeout=settings.chain_request_timeout_seconds,
    )


def department_signers(
    chain: Chain, deployment: Deployment, keystore: Keystore, passphrase: object
) -> dict[str, Signer]:
    """One signer per department: its newest key that the Consortium lists as an account of that department.

    A key the chain does not know yet (its AddAccount proposal has not passed) cannot act, so it is skipped.
    """
    unlocked = keystore.unlock_all(passphrase)  # type: ignore[arg-type]
    consortium = deployment.bind(chain, "Consortium")
    chosen: dict[str, Signer] = {}
    for info in sorted(keystore.list_keys(), key=lambda key: key.created_at, reverse=True):
        if info.department in chosen:
            continue
        if consortium.call("departmentOf", info.address) != encode_department_code(info.department):
            log.warning("key %s of %s is not a registered account on chain; not used", info.address, info.department)
            continue
        chosen[info.department] = unlocked[info.address]
    return chosen


class Runtime:
    """Everything a govledger process runs on."""

    def __init__(
        self,
        settings: Settings,
        *,
        chain: Chain | None = None,
        signers: Mapping[str, Signer] | None = None,
        engine: Engine | None = None,
        migrate: bool = True,
    ):
        """``migrate=False`` trusts that the schema is at head already: for the children of ``serve
        --processes``, whose supervisor migrated before it forked them. They then never import Alembic (with
        Mako and Pygments, 10.8 MiB per process)."""
        self.settings = settings
        url = settings.resolved_database_url
        if migrate:
            from govledger.db.migrate import upgrade_database

            upgrade_database(url)
        self.engine = engine or create_db_engine(url)
        self.chain: Chain = chain or connect_chain(settings)
        self.deployment = Deployment.load(settings.resolved_deployment_file)
        verify_deployment(self.chain, self.deployment)
        if signers is None:
            keystore = Keystore(settings.resolved_keystore_dir, scrypt_n=settings.keystore_scrypt_n)
            signers = department_signers(self.chain, self.deployment, keystore, settings.passphrase())
        self.signers = dict(signers)
        self.tx_manager = TxManager(
            self.chain,
            self.engine,
            self.deployment,
            self.signers,
            TxManagerOptions(
                confirmations=settings.confirmations,
                max_in_flight_per_account=settings.max_in_flight_per_account,
                poll_seconds=settings.receipt_poll_seconds,
                rebroadcast_after_seconds=settings.rebroadcast_after_seconds,
            ),
        )
        self.batcher = RecordBatcher(
            BatchWriter(self.engine, self.tx_manager),
            max_size=settings.batch_max_records,
            max_delay=settings.batch_max_delay_seconds,
        )
        self.authority = DepartmentAuthority(
            self.tx_manager.contract("Consortium"), ttl_seconds=settings.authority_cache_seconds
        )
        self.tx_manager.on_settled(self.authority.forget_after)
        self.records = RecordService(self.engine, self.tx_manager, self.authority, self.batcher)
        self.sharing = SharingService(self.engine, self.tx_manager, self.authority)
        self.certificates = CertificateService(
            self.engine,
            self.tx_manager,
            self.authority,
            settings.public_base_url or f"http://{settings.host}:{settings.port}",
            verification_cache_seconds=settings.verification_cache_seconds,
        )
        self.indexer = Indexer(self.chain, self.engine, self.deployment, confirmations=settings.confirmations)
        self._indexer_thread: BackgroundIndexer | None = None
        self._started = False
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the background workers (idempotent)."""
        with self._lock:
            if self._started:
                return
            self.tx_manager.start()
            self.batcher.start()
            self._indexer_thread = start_in_background(self.indexer, poll_seconds=self.settings.indexer_poll_seconds)
            self._started = True

    def stop(self) -> None:
        with self._lock:
            if not self._started:
                return
            self.batcher.stop()
            self.tx_manager.stop()
            if self._indexer_thread is not None:
                self._indexer_thread.stop()
                self._indexer_thread = None
            self._started = False

    def release_connections(self) -> None:
        """Close every database and node connection this runtime holds, for a process about to fork.

        The runtime stays usable: each process opens its own connections again at its first query or call.
        SQLite forbids using a connection on both sides of a fork, and a node connection used by two
        processes would mix their requests.
        """
        self.engine.dispose()
        self.chain.close_connections()

    def register_metrics(self, metrics: Any) -> None:
        """Gauges read at each scrape: operations by status, and how far the index is behind the chain."""
        metrics.gauge_callback("operations", "Operations by status.", "status", self.tx_manager.store.count_by_status)
        metrics.gauge_callback(
            "indexed_block", "Last block indexed, and the chain head.", "which", self._index_progress
        )

    def _index_progress(self) -> dict[str, float]:
        checkpoint = self.indexer.checkpoint()
        progress: dict[str, float] = {"indexed": float(checkpoint.number if checkpoint else 0)}
        with contextlib.suppress(GovLedgerError):
            progress["head"] = float(self.chain.block_number())
        return progress

    def readiness(self) -> dict[str, str]:
        """Each dependency's state: "ok" or a short reason; the service is ready when all are ok."""
        result: dict[str, str] = {}
        try:
            with session_scope(self.engine, read_only=True) as session:
                session.exec(text("SELECT 1"))  # type: ignore[call-overload]
            result["database"] = "ok"
        except GovLedgerError as exc:
            result["database"] = f"error: {exc.message}"
        try:
            self.chain.block_number()
            result["chain"] = "ok"
        except GovLedgerError as exc:
            result["chain"] = f"error: {exc.message}"
        if result["chain"] == "ok":
            try:
                verify_deployment(self.chain, self.deployment)
                result["contracts"] = "ok"
            except GovLedgerError as exc:
                result["contracts"] = f"error: {exc.message}"
        else:
            result["contracts"] = "unknown: chain unreachable"
        return result
