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
    function _recordNumberedAction(uint8 requiredRoles)
        internal
        returns (bytes32 deptId, uint64 actionSeq, uint8 deptNumber)
    {
        return _readActionAnswer(_recordActionAnswer(requiredRoles));
    }

    /// @dev Has the Consortium record the sender's action (IConsortium.recordAction) and returns where its
    /// answer lies in memory: the three ABI words deptId, actionSeq, deptNumber, at the free memory pointer
    /// and not allocated, so they must be read before anything allocates memory. Hand-encoded because it runs
    /// on every write and the certificate budgets leave no room for the generic ABI path: the callee is the
    /// fixed Consortium, whose return values need no range checks, and its refusals are passed on byte for
    /// byte.
    function _recordActionAnswer(uint8 requiredRoles) internal returns (uint256 answer) {
        address target = address(_consortium);
        bytes4 selector = IConsortium.recordAction.selector;
        assembly ("memory-safe") {
            answer := mload(0x40)
            mstore(answer, selector)
            mstore(add(answer, 0x04), caller())
            mstore(add(answer, 0x24), requiredRoles)
            if iszero(call(gas(), target, 0, answer, 0x44, answer, 0x60)) {
                returndatacopy(answer, 0, returndatasize())
                revert(answer, returndatasize())
            }
            if lt(returndatasize(), 0x60) { revert(0, 0) }
        }
    }

    /// @dev The values of the Consortium's answer that _recordActionAnswer left at `answer`.
    function _readActionAnswer(uint256 answer)
        internal
        pure
        returns (bytes32 deptId, uint64 actionSeq, uint8 deptNumber)
    {
        assembly ("memory-safe") {
            deptId := mload(answer)
            actionSeq := mload(add(answer, 0x20))
            deptNumber := mload(add(answer, 0x40))
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
