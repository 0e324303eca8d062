// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IConsortium} from "../interfaces/IConsortium.sol";
import {IConsortiumModule} from "../interfaces/IConsortiumModule.sol";

/// @title ConsortiumModule
/// @notice Base of the system contracts that act on behalf of departments: holds the Consortium address and
/// routes every write through its recordAction, so each department action gets its sequence number.
abstract contract ConsortiumModule is IConsortiumModule {
    /// @dev The same bits as the ROLE_* constants of Consortium.sol (a test checks them against it).
    uint8 internal constant ROLE_RECORD_KEEPER = 1 << 2;
    uint8 internal constant ROLE_DATA_OWNER = 1 << 3;
    /// @dev Membership of an active department, no particular role.
    uint8 internal constant ANY_MEMBER = 0;

    IConsortium private immutable _consortium;

    /// @param consortium_ The deployed Consortium; fixed for the life of this contract.
    constructor(address consortium_) {
        if (consortium_.code.length == 0) revert ConsortiumModuleInvalidConsortium(consortium_);
        _consortium = IConsortium(consortium_);
    }

    /// @inheritdoc IConsortiumModule
    function consortium() external view returns (address) {
        return address(_consortium);
    }

    /// @dev The sender's department, after the Consortium checked it may act with `requiredRoles`, and the
    /// department's new action sequence number. Reverts with the Consortium's error otherwise.
    function _recordAction(uint8 requiredRoles) internal returns (bytes32 deptId, uint64 actionSeq) {
        return _consortium.recordAction(msg.sender, requiredRoles);
    }

    /// @dev Reverts with ConsortiumUnknownDepartment unless `deptId` is a department (active or suspended).
    function _requireDepartment(bytes32 deptId) internal view {
        _consortium.getDepartment(deptId);
    }
}
