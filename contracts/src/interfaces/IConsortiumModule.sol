// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IConsortiumModule
/// @notice What every govledger system contract other than the Consortium shares: it is bound to one
/// Consortium for life and asks it, on every write, whether the sender's department may act.
/// @dev The Consortium's refusals bubble up unchanged through the module. They are declared here again, with
/// the very same signatures (hence the same selectors) as in IConsortium, so that they are part of every
/// module's ABI and a client decoding a module's revert can name them.
interface IConsortiumModule {
    // ---------------------------------------------------------------- errors raised by the Consortium

    /// @notice The account does not act for any department.
    error ConsortiumNotMember(address account);
    /// @notice The department exists but is suspended.
    error ConsortiumDepartmentInactive(bytes32 deptId);
    /// @notice The department lacks a role the action needs.
    error ConsortiumMissingRole(bytes32 deptId, uint8 requiredRoles);
    /// @notice No department has this id.
    error ConsortiumUnknownDepartment(bytes32 deptId);
    /// @notice The module is not (or no longer) registered with the Consortium.
    error ConsortiumNotModule(address caller);

    // ---------------------------------------------------------------- errors of the module itself

    /// @notice The Consortium address given at deployment has no code.
    error ConsortiumModuleInvalidConsortium(address consortium);

    // ---------------------------------------------------------------- views

    /// @notice The Consortium this contract consults on every write.
    function consortium() external view returns (address);

    /// @notice The contract's version.
    function version() external pure returns (string memory);
}
