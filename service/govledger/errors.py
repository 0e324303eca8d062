"""The one exception tree of govledger.

Every failure a caller can see is a ``GovLedgerError`` with a stable machine-readable ``code`` and an
HTTP ``status``; the API has a single handler that turns them into
``{"error": {"code": ..., "message": ...}}``. Library exceptions (web3, sqlalchemy, cryptography) are
caught in the layer that calls the library and re-raised as one of these, so they never leak.

    GovLedgerError (500 internal_error)
    ├── ConfigurationError (500 configuration_error)      settings missing or unsafe
    ├── ToolchainError (500 toolchain_error)              compiler missing or compile failed
    ├── KeystoreError (500 keystore_error)                key file unreadable or passphrase wrong
    ├── DatabaseUnavailableError (503 database_unavailable) database unreachable or busy; retry later
    ├── ChainError (502 chain_error)                      node answered with something unexpected
    │   ├── ChainUnavailableError (503 chain_unavailable) node unreachable; retry later
    │   ├── DeploymentMismatchError (500 deployment_mismatch) code on chain differs from artifacts
    │   └── ContractRevertError (422 contract_reverted)   the contract refused; carries the custom error
    ├── NotFoundError (404 not_found)
    ├── MalformedRequestError (400 malformed_json)
    ├── UnsupportedMediaTypeError (415 unsupported_media_type)
    ├── ValidationError (422 invalid_request)
    ├── ConflictError (409 conflict)
    │   └── IdempotencyConflictError (409 idempotency_key_reused)
    ├── AuthenticationError (401 unauthenticated)
    ├── PermissionDeniedError (403 forbidden)
    └── RateLimitedError (429 rate_limited)
"""

from __future__ import annotations

from typing import Any, ClassVar


class GovLedgerError(Exception):
    """Root of every error govledger raises on purpose."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.details = details or {}


class ConfigurationError(GovLedgerError):
    code = "configuration_error"


class ToolchainError(GovLedgerError):
    code = "toolchain_error"


class KeystoreError(GovLedgerError):
    code = "keystore_error"


class DatabaseUnavailableError(GovLedgerError):
    """The database cannot be reached or is too busy right now; the request may be retried later."""

    status = 503
    code = "database_unavailable"


class ChainError(GovLedgerError):
    status = 502
    code = "chain_error"


class ChainUnavailableError(ChainError):
    status = 503
    code = "chain_unavailable"


class DeploymentMismatchError(ChainError):
    status = 500
    code = "deployment_mismatch"


class ContractRevertError(ChainError):
    """The contract reverted; ``error_name`` and ``error_args`` are its decoded custom error."""

    status = 422
    code = "contract_reverted"

    def __init__(self, error_name: str, error_args: dict[str, Any] | None = None, message: str | None = None):
        self.error_name = error_name
        self.error_args = error_args or {}
        super().__init__(
            message or f"the contract refused the transaction: {error_name}",
            details={"error_name": error_name, "error_args": self.error_args},
        )


class NotFoundError(GovLedgerError):
    status = 404
    code = "not_found"


class MalformedRequestError(GovLedgerError):
    status = 400
    code = "malformed_json"


class UnsupportedMediaTypeError(GovLedgerError):
    status = 415
    code = "unsupported_media_type"


class ValidationError(GovLedgerError):
    status = 422
    code = "invalid_request"


class ConflictError(GovLedgerError):
    status = 409
    code = "conflict"


class IdempotencyConflictError(ConflictError):
    code = "idempotency_key_reused"


class AuthenticationError(GovLedgerError):
    status = 401
    code = "unauthenticated"


class PermissionDeniedError(GovLedgerError):
    status = 403
    code = "forbidden"


class RateLimitedError(GovLedgerError):
    status = 429
    code = "rate_limited"
