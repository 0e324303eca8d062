// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IConsortium
/// @notice The registry of member departments of a government blockchain network and their M-of-N
/// governance. Every other govledger contract consults it to learn which department an account acts for,
/// whether that department is active and which roles it holds, and bumps the department's action sequence
/// number through it so that an auditor can prove no action of a department is missing from the history.
/// @dev Departments are identified by their code (for example `CS-MSA`) packed left-aligned into a bytes32.
/// Roles are a bit mask; see the ROLE_* constants of the implementation.
interface IConsortium {
    /// @notice What a governance proposal changes. The payload of each kind is the ABI encoding of:
    /// AddDepartment (bytes32 deptId, string name, uint8 roles, address account);
    /// SuspendDepartment (bytes32 deptId); ReinstateDepartment (bytes32 deptId);
    /// SetRoles (bytes32 deptId, uint8 roles); AddAccount (bytes32 deptId, address account);
    /// RemoveAccount (bytes32 deptId, address account); SetThreshold (uint8 threshold);
    /// SetModule (address module, bool enabled).
    enum ProposalKind {
        AddDepartment,
        SuspendDepartment,
        ReinstateDepartment,
        SetRoles,
        AddAccount,
        RemoveAccount,
        SetThreshold,
        SetModule
    }

    /// @notice Where a proposal stands. Expired is derived from the clock, never stored.
    enum ProposalStatus {
        None,
        Pending,
        Executed,
        Expired
    }

    /// @notice A department as returned by views.
    struct DepartmentView {
        bytes32 id;
        string name;
        uint8 roles;
        bool active;
        uint64 actionCount;
        uint32 accountCount;
    }

    /// @notice A proposal as returned by views; `approvals` counts only approvers that are still active
    /// governor departments, which is what execution requires.
    struct ProposalView {
        uint256 id;
        ProposalKind kind;
        ProposalStatus status;
        bytes32 proposerDept;
        uint64 createdAt;
        uint64 expiresAt;
        uint256 approvals;
        bytes32[] approvers;
        bytes payload;
    }

    // ---------------------------------------------------------------- events

    /// @notice A department joined the consortium (at deployment or by proposal).
    event DepartmentAdded(bytes32 indexed deptId, string name, uint8 roles);
    /// @notice A department was suspended: its accounts can no longer act anywhere in the system.
    event DepartmentSuspended(bytes32 indexed deptId);
    /// @notice A suspended department was reinstated.
    event DepartmentReinstated(bytes32 indexed deptId);
    /// @notice A department's roles changed.
    event DepartmentRolesChanged(bytes32 indexed deptId, uint8 previousRoles, uint8 roles);
    /// @notice A signing account now acts for a department.
    event AccountAdded(bytes32 indexed deptId, address indexed account);
    /// @notice A signing account no longer acts for a department (key rotation, leavers).
    event AccountRemoved(bytes32 indexed deptId, address indexed account);
    /// @notice The number of governor approvals a proposal needs changed.
    event ThresholdChanged(uint8 previousThreshold, uint8 threshold);
    /// @notice A system contract was allowed (or no longer allowed) to record department actions.
    event ModuleChanged(address indexed module, bool enabled);
    /// @notice The deployer's one-time module registration is over; from now on only governance changes modules.
    event BootstrapClosed();
    /// @notice A governor department proposed a change; the proposal counts as its first approval.
    event ProposalCreated(
        uint256 indexed proposalId,
        bytes32 indexed proposerDept,
        ProposalKind kind,
        bytes payload,
        uint64 expiresAt,
        uint64 actionSeq
    );
    /// @notice A governor department approved a proposal.
    event ProposalApproved(uint256 indexed proposalId, bytes32 indexed deptId, uint64 actionSeq);
    /// @notice A proposal that had enough approvals took effect.
    event ProposalExecuted(uint256 indexed proposalId, bytes32 indexed executorDept, uint64 actionSeq);

    // ---------------------------------------------------------------- errors

    /// @notice The account does not act for any department.
    error ConsortiumNotMember(address account);
    /// @notice The department exists but is suspended.
    error ConsortiumDepartmentInactive(bytes32 deptId);
    /// @notice The department lacks a role the action needs.
    error ConsortiumMissingRole(bytes32 deptId, uint8 requiredRoles);
    /// @notice No department has this id.
    error ConsortiumUnknownDepartment(bytes32 deptId);
    /// @notice A department with this id exists already.
    error ConsortiumDepartmentExists(bytes32 deptId);
    /// @notice The department is active already.
    error ConsortiumDepartmentActive(bytes32 deptId);
    /// @notice The department id is empty.
    error ConsortiumInvalidDepartmentId(bytes32 deptId);
    /// @notice The department name is empty or longer than MAX_NAME_LENGTH bytes.
    error ConsortiumInvalidName(uint256 length);
    /// @notice The role mask is empty or has bits no role uses.
    error ConsortiumInvalidRoles(uint8 roles);
    /// @notice The account is the zero address.
    error ConsortiumInvalidAccount(address account);
    /// @notice The account already acts for a department.
    error ConsortiumAccountTaken(address account, bytes32 deptId);
    /// @notice The account does not act for this department.
    error ConsortiumAccountNotInDepartment(address account, bytes32 deptId);
    /// @notice Removing the account would leave the department unable to act; add its successor first.
    error ConsortiumLastAccount(bytes32 deptId);
    /// @notice The threshold would be zero or more than the number of active governor departments.
    error ConsortiumInvalidThreshold(uint256 threshold, uint256 activeGovernors);
    /// @notice The consortium is full.
    error ConsortiumTooManyDepartments(uint256 maxDepartments);
    /// @notice The constructor arguments are inconsistent.
    error ConsortiumInvalidBootstrap();
    /// @notice The proposal lifetime is zero or longer than MAX_PROPOSAL_LIFETIME.
    error ConsortiumInvalidLifetime(uint64 lifetime);
    /// @notice The proposal payload does not decode as its kind requires.
    error ConsortiumInvalidPayload(ProposalKind kind);
    /// @notice No proposal has this id.
    error ConsortiumUnknownProposal(uint256 proposalId);
    /// @notice The proposal's time ran out before it was executed.
    error ConsortiumProposalExpired(uint256 proposalId, uint64 expiredAt);
    /// @notice The proposal was executed already.
    error ConsortiumProposalAlreadyExecuted(uint256 proposalId);
    /// @notice The department approved this proposal already.
    error ConsortiumAlreadyApproved(uint256 proposalId, bytes32 deptId);
    /// @notice The proposal has fewer valid approvals than the threshold.
    error ConsortiumThresholdNotMet(uint256 proposalId, uint256 approvals, uint256 threshold);
    /// @notice The module to enable has no code, or an initial module is zero or named twice.
    error ConsortiumInvalidModule(address module);
    /// @notice The constructor names more initial modules than it has room for.
    error ConsortiumTooManyInitialModules(uint256 count, uint256 max);
    /// @notice No department has this number.
    error ConsortiumUnknownDepartmentNumber(uint8 number);
    /// @notice Only registered system contracts may record department actions.
    error ConsortiumNotModule(address caller);
    /// @notice Only the deployer may register the first modules, and only once.
    error ConsortiumNotBootstrapper(address caller);
    /// @notice The one-time module registration has happened already.
    error ConsortiumBootstrapClosed();

    // ---------------------------------------------------------------- writes

    /// @notice Registers the system contracts once, right after deployment, then closes that door for good.
    /// @dev Requirements: caller is the deployer; not called before. Emits ModuleChanged per module and
    /// BootstrapClosed.
    /// @param modules The contracts that may call recordAction.
    function registerModules(address[] calldata modules) external;

    /// @notice Proposes a governance change; counts as the proposer department's approval.
    /// @dev Requirements: caller acts for an active governor department; the payload decodes and is valid
    /// against the current state. Emits ProposalCreated.
    /// @param kind What the proposal changes.
    /// @param payload The ABI-encoded arguments of that kind (see ProposalKind).
    /// @return proposalId The new proposal's id, counting from 1.
    function propose(ProposalKind kind, bytes calldata payload) external returns (uint256 proposalId);

    /// @notice Approves a pending proposal for the caller's department.
    /// @dev Requirements: caller acts for an active governor department that has not approved it; the proposal
    /// is pending and not expired. Emits ProposalApproved.
    /// @param proposalId The proposal to approve.
    function approve(uint256 proposalId) external;

    /// @notice Applies a proposal once enough active governor departments approved it.
    /// @dev Requirements: caller acts for an active governor department; the proposal is pending, not expired,
    /// its valid approvals reach the threshold and its change is still valid. Emits ProposalExecuted and the
    /// event of the change itself.
    /// @param proposalId The proposal to execute.
    function execute(uint256 proposalId) external;

    /// @notice Checks that `account` acts for an active department holding `requiredRoles` and bumps that
    /// department's action sequence number. Called by the system's other contracts on every write.
    /// @dev Requirements: caller is a registered module. The caller emits the returned sequence number in its
    /// own event.
    /// @param account The account that sent the transaction to the module.
    /// @param requiredRoles Role bits the department must all hold (0 for membership only).
    /// @return deptId The department the account acts for.
    /// @return actionSeq The department's new action sequence number.
    /// @return deptNumber The department's permanent number (see departmentIdByNumber), for modules that store
    /// "which department" in one byte.
    function recordAction(address account, uint8 requiredRoles)
        external
        returns (bytes32 deptId, uint64 actionSeq, uint8 deptNumber);

    // ---------------------------------------------------------------- views

    /// @notice The contract's version.
    function version() external pure returns (string memory);

    /// @notice Checks that `account` acts for an active department holding `requiredRoles`, without recording.
    /// @return deptId The department the account acts for.
    function requireMember(address account, uint8 requiredRoles) external view returns (bytes32 deptId);

    /// @notice The department an account acts for, or zero.
    function departmentOf(address account) external view returns (bytes32 deptId);

    /// @notice One department.
    function getDepartment(bytes32 deptId) external view returns (DepartmentView memory);

    /// @notice The ids of every department ever added, in order of joining.
    function departmentIds() external view returns (bytes32[] memory);

    /// @notice How many actions a department has recorded: its last action sequence number.
    function actionCount(bytes32 deptId) external view returns (uint64);

    /// @notice Whether a contract may record department actions.
    function isModule(address module) external view returns (bool);

    /// @notice The department with this number: its position in departmentIds, counting from 1. Departments
    /// are never removed, so a number names the same department for ever. Reverts for an unused number.
    function departmentIdByNumber(uint8 number) external view returns (bytes32 deptId);

    /// @notice Approvals a proposal needs.
    function threshold() external view returns (uint8);

    /// @notice Active departments holding the governor role.
    function activeGovernorCount() external view returns (uint256);

    /// @notice Seconds a proposal stays open.
    function proposalLifetime() external view returns (uint64);

    /// @notice Proposals created so far; the latest id.
    function proposalCount() external view returns (uint256);

    /// @notice One proposal.
    function getProposal(uint256 proposalId) external view returns (ProposalView memory);

    /// @notice Whether a department approved a proposal.
    function hasApproved(uint256 proposalId, bytes32 deptId) external view returns (bool);
}
