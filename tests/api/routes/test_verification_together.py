"""Public verifications asked at the same moment are read together, and each gets its own certificate's answer."""

from __future__ import annotations

import asyncio

import httpx

from tests.api.routes.conftest import Service
from tests.api.routes.test_certificates import ISSUER, issue
from tests.support.event_loops import run_on_its_own_thread

VERIFY = "/api/v1/verify/certificates/{}"


def test_concurrent_verifications_each_get_their_own_answer_from_shared_loads(service: Service):
    issue(service, "LIC-T-1", b"first")
    issue(service, "LIC-T-2", b"second")
    revoked = service.client.post(
        "/api/v1/certificates/LIC-T-2/revoke?wait=true", headers=service.key(*ISSUER), json={"reason_code": "FRAUD"}
    )
    assert revoked.json()["status"] == "confirmed", revoked.json()
    asked = ["LIC-T-1", "LIC-T-2", "LIC-T-NONE"] * 12
    app = service.client.app

    async def ask_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://verify.test") as client:
            return await asyncio.gather(*(client.get(VERIFY.format(cert_id)) for cert_id in asked))

    answers = run_on_its_own_thread(ask_all())

    assert [answer.status_code for answer in answers] == [200] * len(asked)
    bodies = [answer.json() for answer in answers]
    assert [body["status"] for body in bodies] == ["valid", "revoked", "not_found"] * 12
    assert {body["reason"] for body in bodies if body["status"] == "revoked"} == {"FRAUD"}
    assert all(body["issuer"]["name"] for body in bodies if body["status"] != "not_found")
    assert all(body["certificate_id"] == cert_id for body, cert_id in zip(bodies, asked, strict=True))
    lookups = app.state.verification_lookups  # type: ignore[attr-defined]
    print(f"verification: {len(asked)} requests, {lookups.loads} loads of {lookups.keys_loaded} keys")
    assert lookups.loads < len(asked) / 3  # read together, not one load per request
