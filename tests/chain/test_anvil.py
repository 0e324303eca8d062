"""The same deployment and governance against a real anvil node over JSON-RPC."""

from __future__ import annotations

import pytest

from govledger.chain.client import Web3Chain
from govledger.chain.deploy import verify_deployment
from govledger.chain.transactions import wait_for_receipt
from govledger.consortium.departments import Role, decode_department_code
from govledger.errors import ContractRevertError
from tests.fixtures.anvil import AnvilNode
from tests.support.consortium import ADD_ACCOUNT, SET_MODULE, deploy_consortium, dept, new_signer, payload


def test_deploy_and_govern_on_anvil(anvil: AnvilNode):
    chain = Web3Chain(anvil.url, expected_chain_id=31337)
    assert chain.fee_fields() == {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}
    consortium = deploy_consortium(chain)
    verify_deployment(chain, consortium.deployment)
    ids = [decode_department_code(i) for i in consortium.contract.call("departmentIds")]
    assert ids[:3] == ["CS-DRB", "CS-MSA", "CS-HRSS"]

    rotated = new_signer(chain)
    receipt = consortium.pass_proposal(ADD_ACCOUNT, payload(["bytes32", "address"], [dept("CS-AUD"), rotated.address]))
    assert ("AccountAdded", {"deptId": dept("CS-AUD"), "account": rotated.address}) in consortium.events(receipt)
    with pytest.raises(ContractRevertError) as info:
        consortium.act("CS-AUD", "approve", 1)
    assert info.value.error_name == "ConsortiumMissingRole"
    assert info.value.error_args["requiredRoles"] == Role.GOVERNOR


def test_a_module_records_department_actions_on_anvil(anvil: AnvilNode):
    """recordAction from a registered module bumps the acting department's sequence number."""
    chain = Web3Chain(anvil.url)
    consortium = deploy_consortium(chain)
    module = new_signer(chain).address
    # Give the module address code so governance accepts it, then send from it as anvil allows.
    anvil.rpc("anvil_setCode", [module, "0x00"])
    consortium.pass_proposal(SET_MODULE, payload(["address", "bool"], [module, True]))
    anvil.rpc("anvil_impersonateAccount", [module])
    issuer = consortium.signers["CS-MSA"].address
    calldata = consortium.contract.encode("recordAction", issuer, int(Role.CERTIFICATE_ISSUER))
    before = consortium.contract.call("actionCount", dept("CS-MSA"))
    for _ in range(3):
        tx_hash = anvil.rpc(
            "eth_sendTransaction",
            [
                {
                    "from": module,
                    "to": consortium.contract.address,
                    "data": "0x" + calldata.hex(),
                    "gas": hex(100_000),
                    "gasPrice": "0x0",
                }
            ],
        )
        # Automine answers before the block is sealed on a busy machine: wait for the receipt.
        assert wait_for_receipt(chain, str(tx_hash), timeout=30).status == 1
    assert consortium.contract.call("actionCount", dept("CS-MSA")) == before + 3
    # A department without the role is refused even through a module.
    auditor = consortium.signers["CS-AUD"].address
    with pytest.raises(ContractRevertError) as info:
        consortium.contract.call("recordAction", auditor, int(Role.CERTIFICATE_ISSUER), sender=module)
    assert info.value.error_name == "ConsortiumMissingRole"
