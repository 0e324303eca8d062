"""The memory of verification evidence: this service's own status changes show at once, others' after the ttl.

The demo service runs with the default ``verification_cache_seconds`` (2 s), so the memory is on here.
"""

from __future__ import annotations

import hashlib
import time

from govledger.certificates.service import CHAIN_STATUSES
from govledger.chain.transactions import send_and_confirm
from govledger.shortids import encode_short_id
from tests.api.routes.conftest import Service
from tests.api.routes.test_certificates import ISSUER, issue

VERIFY = "/api/v1/verify/certificates/{}"


def status_of(service: Service, cert_id: str) -> str:
    response = service.client.get(VERIFY.format(cert_id))
    assert response.status_code == 200, response.json()
    return str(response.json()["status"])


def test_a_revocation_through_this_service_shows_at_once(service: Service):
    issue(service, "LIC-M-1", b"remembered")
    assert status_of(service, "LIC-M-1") == "valid"
    by_hash = service.client.post("/api/v1/verify", json={"document_hash": hashlib.sha256(b"remembered").hexdigest()})
    assert by_hash.json()["status"] == "valid"
    evidence = service.demo.runtime.certificates._evidence
    assert evidence.ttl_seconds == service.demo.runtime.settings.verification_cache_seconds > 0
    assert ("id", "LIC-M-1") in evidence._entries  # the valid answer's evidence is remembered...
    remembered_at = time.monotonic()

    revoked = service.client.post(
        "/api/v1/certificates/LIC-M-1/revoke?wait=true", headers=service.key(*ISSUER), json={"reason_code": "FRAUD"}
    )
    assert revoked.json()["status"] == "confirmed", revoked.json()
    # Still within the ttl, so only the settle listener can have made the memory forget.
    assert time.monotonic() - remembered_at < evidence.ttl_seconds, "the revocation took longer than the ttl"
    assert ("id", "LIC-M-1") not in evidence._entries
    # ...and the settle listener dropped it, so the very next answers (by number and by hash) are current.
    assert status_of(service, "LIC-M-1") == "revoked"
    by_hash = service.client.post("/api/v1/verify", json={"document_hash": hashlib.sha256(b"remembered").hexdigest()})
    assert by_hash.json()["status"] == "revoked"


def test_within_the_ttl_a_second_verification_does_not_ask_the_node_again(service: Service):
    """A revocation this service did not make (another node's service, or a direct transaction) is only seen
    once the ttl has passed: proof that the answers in between came from memory, not from the chain."""
    runtime = service.demo.runtime
    ttl = runtime.settings.verification_cache_seconds
    issue(service, "LIC-M-2", b"cached")
    assert status_of(service, "LIC-M-2") == "valid"
    remembered_at = time.monotonic()

    registry = runtime.tx_manager.contract("CertificateRegistry")
    signer = runtime.tx_manager.signer_for(ISSUER[0])
    data = registry.encode("revoke", encode_short_id("LIC-M-2"), encode_short_id("FRAUD"))
    receipt = send_and_confirm(runtime.chain, signer, registry.interface, to=registry.address, data=data)
    assert receipt.status == 1
    assert CHAIN_STATUSES[registry.call("certificateOf", encode_short_id("LIC-M-2"))["status"]] == "revoked"

    answers = []
    while time.monotonic() - remembered_at < ttl * 0.75:
        answers.append(status_of(service, "LIC-M-2"))
        time.sleep(0.1)
    assert answers and set(answers) == {"valid"}, answers  # remembered evidence, node not asked
    time.sleep(max(0.0, remembered_at + ttl - time.monotonic()) + 0.1)
    assert status_of(service, "LIC-M-2") == "revoked"  # ttl passed: asked again
    print(f"verification cache: ttl={ttl}s answers_from_memory={len(answers)} then=revoked")
