// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IConsortium} from "./interfaces/IConsortium.sol";

/// @title Consortium
/// @notice Member departments of the government blockchain network, their signing accounts and roles, and
/// the M-of-N governance among governor departments that changes them.
/// @dev Design notes:
/// - A department's roles, status, action counter and account count share one storage slot, so the check
///   every other contract makes on every write (recordAction) reads and writes a single slot.
/// - Approvals are re-counted at execution time against the approvers' current status, so a governor that
///   was suspended or lost its role after approving no longer counts. The loop is over approvers, which is
///   bounded by MAX_DEPARTMENTS and only grows through governance, never through ordinary users.
/// - The system contracts deployed with the Consortium are named in its constructor and kept in immutables,
///   so recognising them costs no storage read. They are deployed right after it, at addresses the deployer
///   predicts from its own nonce (deploy.py checks the prediction). Governance can still disable one: its
///   bit is then set in every department's slot, the slot recordAction reads anyway, so the check stays free.
///   Modules added later by governance live in the _modules mapping (one storage read per action).
/// - A department's number (its position in departmentIds, from 1) shares the department's slot and is
///   returned by recordAction, so a module can remember "which department" in one byte of its own storage.
/// - A deployer that names no modules in the constructor keeps exactly one privilege, used once: naming them
///   with registerModules. Naming them in the constructor closes that door at once.
contract Consortium is IConsortium {
    uint8 public constant ROLE_GOVERNOR = 1 << 0;
    uint8 public constant ROLE_CERTIFICATE_ISSUER = 1 << 1;
    uint8 public constant ROLE_RECORD_KEEPER = 1 << 2;
    uint8 public constant ROLE_DATA_OWNER = 1 << 3;
    uint8 public constant ROLE_AUDITOR = 1 << 4;
    uint8 public constant ALL_ROLES = (1 << 5) - 1;

    uint256 public constant MAX_DEPARTMENTS = 64;
    uint256 public constant MAX_NAME_LENGTH = 128;
    uint64 public constant MAX_PROPOSAL_LIFETIME = 365 days;
    uint256 public constant MAX_INITIAL_MODULES = 4;

    /// @dev Bit offsets of the Department fields in their slot: Solidity packs struct members from the
    /// low-order end in declaration order. A test checks recordAction against getDepartment.
    uint256 private constant DEPT_ACTIVE_SHIFT = 16;
    uint256 private constant DEPT_ACTION_COUNT_SHIFT = 24;
    uint256 private constant DEPT_NUMBER_SHIFT = 120;
    uint256 private constant DEPT_DISABLED_MODULES_SHIFT = 128;

    struct Department {
        uint8 roles;
        bool exists;
        bool active;
        uint64 actionCount;
        uint32 accountCount;
        uint8 number;
        uint8 disabledInitialModules;
    }

    struct Proposal {
        ProposalKind kind;
        bool executed;
        uint64 createdAt;
        uint64 expiresAt;
        bytes32 proposerDept;
        bytes payload;
        bytes32[] approvers;
    }

    address private immutable _bootstrapper;
    uint64 private immutable _proposalLifetime;
    address private immutable _initialModule0;
    address private immutable _initialModule1;
    address private immutable _initialModule2;
    address private immutable _initialModule3;

    bool private _bootstrapClosed;
    uint8 private _threshold;
    uint32 private _activeGovernors;
    uint8 private _disabledInitialModules;
    uint256 private _proposalCount;

    bytes32[] private _departmentIds;
    mapping(bytes32 deptId => Department) private _departments;
    mapping(bytes32 deptId => string) private _names;
    mapping(address account => bytes32 deptId) private _accountDepartment;
    mapping(address module => bool) private _modules;
    mapping(uint256 proposalId => Proposal) private _proposals;
    mapping(uint256 proposalId => mapping(bytes32 deptId => bool)) private _approved;

    /// @param ids Codes of the founding departments, packed into bytes32.
    /// @param names Their names.
    /// @param roles Their role masks; at least one must hold ROLE_GOVERNOR.
    /// @param accounts One signing account each.
    /// @param initialThreshold Approvals a proposal needs, from 1 to the number of governor departments.
    /// @param lifetime Seconds a proposal stays open.
    /// @param initialModules Up to MAX_INITIAL_MODULES system contracts that may record actions from the start.
    /// They may not have code yet (they are deployed next); none, zero or repeated, is refused. An empty list
    /// leaves registerModules open to the deployer instead.
    constructor(
        bytes32[] memory ids,
        string[] memory names,
        uint8[] memory roles,
        address[] memory accounts,
        uint8 initialThreshold,
        uint64 lifetime,
        address[] memory initialModules
    ) {
        uint256 count = ids.length;
        if (count == 0 || names.length != count || roles.length != count || accounts.length != count) {
            revert ConsortiumInvalidBootstrap();
        }
        if (lifetime == 0 || lifetime > MAX_PROPOSAL_LIFETIME) revert ConsortiumInvalidLifetime(lifetime);
        _bootstrapper = msg.sender;
        _proposalLifetime = lifetime;
        for (uint256 i = 0; i < count; ++i) {
            _addDepartment(ids[i], names[i], roles[i], accounts[i]);
        }
        _setThreshold(initialThreshold);

        uint256 moduleCount = initialModules.length;
        if (moduleCount > MAX_INITIAL_MODULES) revert ConsortiumTooManyInitialModules(moduleCount, MAX_INITIAL_MODULES);
        for (uint256 i = 0; i < moduleCount; ++i) {
            address module = initialModules[i];
            for (uint256 j = 0; j < i; ++j) {
                if (initialModules[j] == module) revert ConsortiumInvalidModule(module);
            }
            if (module == address(0)) revert ConsortiumInvalidModule(module);
            emit ModuleChanged(module, true);
        }
        _initialModule0 = moduleCount > 0 ? initialModules[0] : address(0);
        _initialModule1 = moduleCount > 1 ? initialModules[1] : address(0);
        _initialModule2 = moduleCount > 2 ? initialModules[2] : address(0);
        _initialModule3 = moduleCount > 3 ? initialModules[3] : address(0);
        if (moduleCount > 0) {
            _bootstrapClosed = true;
            emit BootstrapClosed();
        }
    }

    // ---------------------------------------------------------------- writes

    /// @inheritdoc IConsortium
    function registerModules(address[] calldata modules) external {
        if (msg.sender != _bootstrapper) revert ConsortiumNotBootstrapper(msg.sender);
        if (_bootstrapClosed) revert ConsortiumBootstrapClosed();
        _bootstrapClosed = true;
        for (uint256 i = 0; i < modules.length; ++i) {
            _setModule(modules[i], true);
        }
        emit BootstrapClosed();
    }

    /// @inheritdoc IConsortium
    function propose(ProposalKind kind, bytes calldata payload) external returns (uint256 proposalId) {
        bytes32 deptId = _requireMember(msg.sender, ROLE_GOVERNOR);
        _validate(kind, payload);
        proposalId = ++_proposalCount;
        Proposal storage proposal = _proposals[proposalId];
        proposal.kind = kind;
        proposal.createdAt = uint64(block.timestamp);
        proposal.expiresAt = uint64(block.timestamp) + _proposalLifetime;
        proposal.proposerDept = deptId;
        proposal.payload = payload;
        proposal.approvers.push(deptId);
        _approved[proposalId][deptId] = true;
        uint64 seq = _bumpActionCount(deptId);
        emit ProposalCreated(proposalId, deptId, kind, payload, proposal.expiresAt, seq);
    }

    /// @inheritdoc IConsortium
    function approve(uint256 proposalId) external {
        bytes32 deptId = _requireMember(msg.sender, ROLE_GOVERNOR);
        Proposal storage proposal = _requireOpenProposal(proposalId);
        if (_approved[proposalId][deptId]) revert ConsortiumAlreadyApproved(proposalId, deptId);
        _approved[proposalId][deptId] = true;
        proposal.approvers.push(deptId);
        uint64 seq = _bumpActionCount(deptId);
        emit ProposalApproved(proposalId, deptId, seq);
    }

    /// @inheritdoc IConsortium
    function execute(uint256 proposalId) external {
        bytes32 deptId = _requireMember(msg.sender, ROLE_GOVERNOR);
        Proposal storage proposal = _requireOpenProposal(proposalId);
        uint256 approvals = _validApprovals(proposal);
        if (approvals < _threshold) revert ConsortiumThresholdNotMet(proposalId, approvals, _threshold);
        proposal.executed = true;
        uint64 seq = _bumpActionCount(deptId);
        emit ProposalExecuted(proposalId, deptId, seq);
        _apply(proposal.kind, proposal.payload);
    }

    /// @inheritdoc IConsortium
    /// @dev The hot path of the whole system (every module write): one read of the account's department and
    /// one read-modify-write of the department's slot, nothing else for an initial module.
    function recordAction(address account, uint8 requiredRoles) external returns (bytes32, uint64, uint8) {
        uint256 initialBit = _initialModuleBit(msg.sender);
        // Hand-written for the certificate budgets (revoke <= 40k gas in all): both mapping slots are found
        // as Solidity lays them out (keccak256(key . slot)), the department's slot is read and written as one
        // word (see the DEPT_* shifts), and one test covers the usual case: an initial module acting for an
        // active department that holds the roles. Anything else (a module added by governance, or a refusal)
        // goes through _checkAction, which tells the cases apart. The answer is returned from assembly in the
        // ABI's layout (three words), which skips Solidity's return encoding.
        bytes32 deptId;
        uint256 deptSlot;
        uint256 word;
        bool unusual;
        assembly ("memory-safe") {
            mstore(0x00, account)
            mstore(0x20, _accountDepartment.slot)
            deptId := sload(keccak256(0x00, 0x40))
            mstore(0x00, deptId)
            mstore(0x20, _departments.slot)
            deptSlot := keccak256(0x00, 0x40)
            word := sload(deptSlot)
            unusual := or(
                or(or(iszero(initialBit), iszero(deptId)), and(shr(DEPT_DISABLED_MODULES_SHIFT, word), initialBit)),
                or(iszero(and(shr(DEPT_ACTIVE_SHIFT, word), 0xff)), xor(and(word, requiredRoles), requiredRoles))
            )
        }
        if (unusual) _checkAction(account, deptId, word, initialBit, requiredRoles);
        // A uint64 counter cannot realistically reach 2^64 - 1, so the carry never reaches accountCount.
        unchecked {
            word += 1 << DEPT_ACTION_COUNT_SHIFT;
        }
        // The answer's words are cleaned here (the ABI wants zero high-order bits, and modules log actionSeq's
        // word as it comes). Not "memory-safe" only in name: it overwrites the free memory pointer, but ends
        // the call.
        assembly {
            sstore(deptSlot, word)
            mstore(0x00, deptId)
            mstore(0x20, and(shr(DEPT_ACTION_COUNT_SHIFT, word), 0xffffffffffffffff))
            mstore(0x40, and(shr(DEPT_NUMBER_SHIFT, word), 0xff))
            return(0x00, 0x60)
        }
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IConsortium
    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    /// @inheritdoc IConsortium
    function requireMember(address account, uint8 requiredRoles) external view returns (bytes32 deptId) {
        return _requireMember(account, requiredRoles);
    }

    /// @inheritdoc IConsortium
    function departmentOf(address account) external view returns (bytes32 deptId) {
        return _accountDepartment[account];
    }

    /// @inheritdoc IConsortium
    function getDepartment(bytes32 deptId) external view returns (DepartmentView memory) {
        Department memory dept = _departments[deptId];
        if (!dept.exists) revert ConsortiumUnknownDepartment(deptId);
        return DepartmentView(deptId, _names[deptId], dept.roles, dept.active, dept.actionCount, dept.accountCount);
    }

    /// @inheritdoc IConsortium
    function departmentIds() external view returns (bytes32[] memory) {
        return _departmentIds;
    }

    /// @inheritdoc IConsortium
    function actionCount(bytes32 deptId) external view returns (uint64) {
        return _departments[deptId].actionCount;
    }

    /// @inheritdoc IConsortium
    function isModule(address module) external view returns (bool) {
        uint256 initialBit = module == address(0) ? 0 : _initialModuleBit(module);
        if (initialBit != 0) return _disabledInitialModules & initialBit == 0;
        return _modules[module];
    }

    /// @inheritdoc IConsortium
    function departmentIdByNumber(uint8 number) external view returns (bytes32 deptId) {
        if (number == 0 || number > _departmentIds.length) revert ConsortiumUnknownDepartmentNumber(number);
        return _departmentIds[number - 1];
    }

    /// @inheritdoc IConsortium
    function threshold() external view returns (uint8) {
        return _threshold;
    }

    /// @inheritdoc IConsortium
    function activeGovernorCount() external view returns (uint256) {
        return _activeGovernors;
    }

    /// @inheritdoc IConsortium
    function proposalLifetime() external view returns (uint64) {
        return _proposalLifetime;
    }

    /// @inheritdoc IConsortium
    function proposalCount() external view returns (uint256) {
        return _proposalCount;
    }

    /// @inheritdoc IConsortium
    function getProposal(uint256 proposalId) external view returns (ProposalView memory) {
        Proposal storage proposal = _proposals[proposalId];
        if (proposal.createdAt == 0) revert ConsortiumUnknownProposal(proposalId);
        ProposalStatus status;
        if (proposal.executed) status = ProposalStatus.Executed;
        else if (block.timestamp >= proposal.expiresAt) status = ProposalStatus.Expired;
        else status = ProposalStatus.Pending;
        return ProposalView(
            proposalId,
            proposal.kind,
            status,
            proposal.proposerDept,
            proposal.createdAt,
            proposal.expiresAt,
            _validApprovals(proposal),
            proposal.approvers,
            proposal.payload
        );
    }

    /// @inheritdoc IConsortium
    function hasApproved(uint256 proposalId, bytes32 deptId) external view returns (bool) {
        return _approved[proposalId][deptId];
    }

    // ---------------------------------------------------------------- internals

    function _requireMember(address account, uint8 requiredRoles) private view returns (bytes32 deptId) {
        deptId = _accountDepartment[account];
        if (deptId == bytes32(0)) revert ConsortiumNotMember(account);
        Department memory dept = _departments[deptId];
        if (!dept.active) revert ConsortiumDepartmentInactive(deptId);
        if (dept.roles & requiredRoles != requiredRoles) revert ConsortiumMissingRole(deptId, requiredRoles);
    }

    function _requireOpenProposal(uint256 proposalId) private view returns (Proposal storage proposal) {
        proposal = _proposals[proposalId];
        if (proposal.createdAt == 0) revert ConsortiumUnknownProposal(proposalId);
        if (proposal.executed) revert ConsortiumProposalAlreadyExecuted(proposalId);
        if (block.timestamp >= proposal.expiresAt) revert ConsortiumProposalExpired(proposalId, proposal.expiresAt);
    }

    function _bumpActionCount(bytes32 deptId) private returns (uint64 seq) {
        seq = ++_departments[deptId].actionCount;
    }

    function _validApprovals(Proposal storage proposal) private view returns (uint256 approvals) {
        bytes32[] storage approvers = proposal.approvers;
        for (uint256 i = 0; i < approvers.length; ++i) {
            Department memory dept = _departments[approvers[i]];
            if (dept.active && dept.roles & ROLE_GOVERNOR != 0) ++approvals;
        }
    }

    /// @dev Fixed-size payloads are checked for their exact length first, because abi.decode of a short
    /// payload reverts without data and callers deserve a named error.
    function _validate(ProposalKind kind, bytes memory payload) private view {
        if (kind == ProposalKind.AddDepartment) {
            if (payload.length < 5 * 32) revert ConsortiumInvalidPayload(kind);
            (bytes32 deptId, string memory name, uint8 roles, address account) =
                abi.decode(payload, (bytes32, string, uint8, address));
            _checkNewDepartment(deptId, name, roles, account);
        } else if (kind == ProposalKind.SuspendDepartment) {
            bytes32 deptId = _decodeDepartment(kind, payload);
            if (!_departments[deptId].active) revert ConsortiumDepartmentInactive(deptId);
            _checkGovernorsAfter(deptId, _departments[deptId].roles, false);
        } else if (kind == ProposalKind.ReinstateDepartment) {
            bytes32 deptId = _decodeDepartment(kind, payload);
            if (_departments[deptId].active) revert ConsortiumDepartmentActive(deptId);
        } else if (kind == ProposalKind.SetRoles) {
            if (payload.length != 2 * 32) revert ConsortiumInvalidPayload(kind);
            (bytes32 deptId, uint8 roles) = abi.decode(payload, (bytes32, uint8));
            _requireExists(deptId);
            _checkRoles(roles);
            _checkGovernorsAfter(deptId, roles, _departments[deptId].active);
        } else if (kind == ProposalKind.AddAccount) {
            (bytes32 deptId, address account) = _decodeDepartmentAccount(kind, payload);
            _requireExists(deptId);
            _checkNewAccount(account);
        } else if (kind == ProposalKind.RemoveAccount) {
            (bytes32 deptId, address account) = _decodeDepartmentAccount(kind, payload);
            if (_accountDepartment[account] != deptId) revert ConsortiumAccountNotInDepartment(account, deptId);
            if (_departments[deptId].accountCount <= 1) revert ConsortiumLastAccount(deptId);
        } else if (kind == ProposalKind.SetThreshold) {
            if (payload.length != 32) revert ConsortiumInvalidPayload(kind);
            uint8 newThreshold = abi.decode(payload, (uint8));
            if (newThreshold == 0 || newThreshold > _activeGovernors) {
                revert ConsortiumInvalidThreshold(newThreshold, _activeGovernors);
            }
        } else {
            if (payload.length != 2 * 32) revert ConsortiumInvalidPayload(kind);
            (address module, bool enabled) = abi.decode(payload, (address, bool));
            if (enabled && module.code.length == 0) revert ConsortiumInvalidModule(module);
        }
    }

    /// @dev Re-validates against the state at execution time: it may have changed since the proposal.
    function _apply(ProposalKind kind, bytes memory payload) private {
        _validate(kind, payload);
        if (kind == ProposalKind.AddDepartment) {
            (bytes32 deptId, string memory name, uint8 roles, address account) =
                abi.decode(payload, (bytes32, string, uint8, address));
            _addDepartment(deptId, name, roles, account);
        } else if (kind == ProposalKind.SuspendDepartment) {
            bytes32 deptId = abi.decode(payload, (bytes32));
            _setActive(deptId, false);
            emit DepartmentSuspended(deptId);
        } else if (kind == ProposalKind.ReinstateDepartment) {
            bytes32 deptId = abi.decode(payload, (bytes32));
            _setActive(deptId, true);
            emit DepartmentReinstated(deptId);
        } else if (kind == ProposalKind.SetRoles) {
            (bytes32 deptId, uint8 roles) = abi.decode(payload, (bytes32, uint8));
            _setRoles(deptId, roles);
        } else if (kind == ProposalKind.AddAccount) {
            (bytes32 deptId, address account) = abi.decode(payload, (bytes32, address));
            _addAccount(deptId, account);
        } else if (kind == ProposalKind.RemoveAccount) {
            (bytes32 deptId, address account) = abi.decode(payload, (bytes32, address));
            delete _accountDepartment[account];
            --_departments[deptId].accountCount;
            emit AccountRemoved(deptId, account);
        } else if (kind == ProposalKind.SetThreshold) {
            _setThreshold(abi.decode(payload, (uint8)));
        } else {
            (address module, bool enabled) = abi.decode(payload, (address, bool));
            _setModule(module, enabled);
        }
    }

    function _decodeDepartment(ProposalKind kind, bytes memory payload) private view returns (bytes32 deptId) {
        if (payload.length != 32) revert ConsortiumInvalidPayload(kind);
        deptId = abi.decode(payload, (bytes32));
        _requireExists(deptId);
    }

    function _decodeDepartmentAccount(ProposalKind kind, bytes memory payload)
        private
        pure
        returns (bytes32 deptId, address account)
    {
        if (payload.length != 2 * 32) revert ConsortiumInvalidPayload(kind);
        (deptId, account) = abi.decode(payload, (bytes32, address));
    }

    function _requireExists(bytes32 deptId) private view {
        if (!_departments[deptId].exists) revert ConsortiumUnknownDepartment(deptId);
    }

    function _checkRoles(uint8 roles) private pure {
        if (roles == 0 || roles & ~ALL_ROLES != 0) revert ConsortiumInvalidRoles(roles);
    }

    function _checkNewAccount(address account) private view {
        if (account == address(0)) revert ConsortiumInvalidAccount(account);
        bytes32 owner = _accountDepartment[account];
        if (owner != bytes32(0)) revert ConsortiumAccountTaken(account, owner);
    }

    function _checkNewDepartment(bytes32 deptId, string memory name, uint8 roles, address account) private view {
        if (deptId == bytes32(0)) revert ConsortiumInvalidDepartmentId(deptId);
        if (_departments[deptId].exists) revert ConsortiumDepartmentExists(deptId);
        if (_departmentIds.length >= MAX_DEPARTMENTS) revert ConsortiumTooManyDepartments(MAX_DEPARTMENTS);
        uint256 nameLength = bytes(name).length;
        if (nameLength == 0 || nameLength > MAX_NAME_LENGTH) revert ConsortiumInvalidName(nameLength);
        _checkRoles(roles);
        _checkNewAccount(account);
    }

    /// @dev A change that removes a governor must leave at least `threshold` active governors, or no proposal
    /// could ever pass again.
    function _checkGovernorsAfter(bytes32 deptId, uint8 rolesAfter, bool activeAfter) private view {
        Department memory dept = _departments[deptId];
        bool governsNow = dept.active && dept.roles & ROLE_GOVERNOR != 0;
        bool governsAfter = activeAfter && rolesAfter & ROLE_GOVERNOR != 0;
        if (governsNow && !governsAfter && _activeGovernors - 1 < _threshold) {
            revert ConsortiumInvalidThreshold(_threshold, _activeGovernors - 1);
        }
    }

    function _addDepartment(bytes32 deptId, string memory name, uint8 roles, address account) private {
        _checkNewDepartment(deptId, name, roles, account);
        _departmentIds.push(deptId);
        _departments[deptId] = Department({
            roles: roles,
            exists: true,
            active: true,
            actionCount: 0,
            accountCount: 0,
            number: uint8(_departmentIds.length),
            disabledInitialModules: _disabledInitialModules
        });
        _names[deptId] = name;
        if (roles & ROLE_GOVERNOR != 0) ++_activeGovernors;
        emit DepartmentAdded(deptId, name, roles);
        _addAccount(deptId, account);
    }

    function _addAccount(bytes32 deptId, address account) private {
        _accountDepartment[account] = deptId;
        ++_departments[deptId].accountCount;
        emit AccountAdded(deptId, account);
    }

    function _setActive(bytes32 deptId, bool active) private {
        Department storage dept = _departments[deptId];
        dept.active = active;
        if (dept.roles & ROLE_GOVERNOR != 0) {
            if (active) ++_activeGovernors;
            else --_activeGovernors;
        }
    }

    function _setRoles(bytes32 deptId, uint8 roles) private {
        Department storage dept = _departments[deptId];
        uint8 previous = dept.roles;
        dept.roles = roles;
        if (dept.active) {
            bool wasGovernor = previous & ROLE_GOVERNOR != 0;
            bool isGovernor = roles & ROLE_GOVERNOR != 0;
            if (wasGovernor && !isGovernor) --_activeGovernors;
            else if (!wasGovernor && isGovernor) ++_activeGovernors;
        }
        emit DepartmentRolesChanged(deptId, previous, roles);
    }

    function _setThreshold(uint8 newThreshold) private {
        if (newThreshold == 0 || newThreshold > _activeGovernors) {
            revert ConsortiumInvalidThreshold(newThreshold, _activeGovernors);
        }
        uint8 previous = _threshold;
        _threshold = newThreshold;
        emit ThresholdChanged(previous, newThreshold);
    }

    function _setModule(address module, bool enabled) private {
        if (enabled && module.code.length == 0) revert ConsortiumInvalidModule(module);
        uint8 initialBit = module == address(0) ? 0 : uint8(_initialModuleBit(module));
        if (initialBit == 0) {
            _modules[module] = enabled;
        } else {
            uint8 disabled = enabled ? _disabledInitialModules & ~initialBit : _disabledInitialModules | initialBit;
            _disabledInitialModules = disabled;
            // Bounded by MAX_DEPARTMENTS, and only governance gets here: the price of a free check per action.
            uint256 count = _departmentIds.length;
            for (uint256 i = 0; i < count; ++i) {
                _departments[_departmentIds[i]].disabledInitialModules = disabled;
            }
        }
        emit ModuleChanged(module, enabled);
    }

    /// @dev recordAction's checks outside its usual case, in the order that names the first refusal: the
    /// module, the membership, the department's status, its roles. Returns when the action may go ahead (a
    /// module added by governance, acting for an active department that holds the roles).
    function _checkAction(address account, bytes32 deptId, uint256 word, uint256 initialBit, uint8 requiredRoles)
        private
        view
    {
        if (initialBit == 0 && !_modules[msg.sender]) revert ConsortiumNotModule(msg.sender);
        if (deptId == bytes32(0)) {
            if (_disabledInitialModules & initialBit != 0) revert ConsortiumNotModule(msg.sender);
            revert ConsortiumNotMember(account);
        }
        if ((word >> DEPT_DISABLED_MODULES_SHIFT) & initialBit != 0) revert ConsortiumNotModule(msg.sender);
        if (uint8(word >> DEPT_ACTIVE_SHIFT) == 0) revert ConsortiumDepartmentInactive(deptId);
        if (uint8(word) & requiredRoles != requiredRoles) revert ConsortiumMissingRole(deptId, requiredRoles);
    }

    /// @dev The bit of an initial module (1, 2, 4 or 8), 0 for any other address.
    /// Never called with the zero address, which would match an unused slot.
    function _initialModuleBit(address module) private view returns (uint256) {
        if (module == _initialModule0) return 1;
        if (module == _initialModule1) return 2;
        if (module == _initialModule2) return 4;
        if (module == _initialModule3) return 8;
        return 0;
    }
}
