// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IConsortium} from "../interfaces/IConsortium.sol";
import {IConsortiumModule} from "../interfaces/IConsortiumModule.sol";

/// @title ConsortiumModule
/// @notice Base of the system contracts that act on behalf of departments: holds the Consortium address and
/// routes every write through its recordAction, so each department action gets its sequence number.
abstract contract ConsortiumModule is IConsortiumModule {
    /// @dev The same bits as the ROLE_* constants of Consortium.sol (a test checks them against it).
    uint8 internal constant ROLE_CERTIFICATE_ISSUER = 1 << 1;
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
        (deptId, actionSeq,) = _recordNumberedAction(requiredRoles);
    }

    /// @dev As _recordAction, plus the department's permanent number (IConsortium.departmentIdByNumber).
    /// Hand-encoded because it runs on every write and the certificate budgets leave no room for the generic
    /// ABI path: the callee is the fixed Consortium, whose return values need no range checks, and its
    /// refusals are passed on byte for byte.
    function _recordNumberedAction(uint8 requiredRoles)
        internal
        returns (bytes32 deptId, uint64 actionSeq, uint8 deptNumber)
    {
        address target = address(_consortium);
        bytes4 selector = IConsortium.recordAction.selector;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), caller())
            mstore(add(ptr, 0x24), requiredRoles)
            if iszero(call(gas(), target, 0, ptr, 0x44, ptr, 0x60)) {
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
            if lt(returndatasize(), 0x60) { revert(0, 0) }
            deptId := mload(ptr)
            actionSeq := mload(add(ptr, 0x20))
            deptNumber := mload(add(ptr, 0x40))
        }
    }

    /// @dev The department with this number; reverts with ConsortiumUnknownDepartmentNumber for an unused one.
    function _departmentByNumber(uint8 number) internal view returns (bytes32 deptId) {
        return _consortium.departmentIdByNumber(number);
    }

    /// @dev Reverts with ConsortiumUnknownDepartment unless `deptId` is a department (active or suspended).
    function _requireDepartment(bytes32 deptId) internal view {
        _consortium.getDepartment(deptId);
    }
}
