// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IConsortiumModule} from "./interfaces/IConsortiumModule.sol";
import {ISharingRegistry} from "./interfaces/ISharingRegistry.sol";
import {ConsortiumModule} from "./libraries/ConsortiumModule.sol";

/// @title SharingRegistry
/// @notice Data sets, the grants under which other departments may use them, and the log of every use.
/// @dev Design notes:
/// - A grant's window, revocation time and use counter share one slot, so logUse reads two slots and
///   rewrites one it has just read.
/// - Dead is forever without extra state: revocation is recorded once and never undone, and expiry follows
///   from the clock, which only moves forward.
/// - The owner of a grant is always the owner of its data set; data sets never change owner, so the owner
///   is not copied into each grant.
contract SharingRegistry is ISharingRegistry, ConsortiumModule {
    struct Dataset {
        bytes32 ownerDept;
        bytes32 metadataHash;
        uint64 registeredAt;
    }

    struct Grant {
        bytes32 datasetId;
        bytes32 consumerDept;
        bytes32 purposeCode;
        bytes32 scopeHash;
        uint64 validFrom;
        uint64 validUntil;
        uint64 revokedAt;
        uint64 useCount;
    }

    mapping(bytes32 datasetId => Dataset) private _datasets;
    mapping(bytes32 grantId => Grant) private _grants;
    mapping(bytes32 datasetId => mapping(bytes32 consumerDept => mapping(bytes32 purposeCode => bytes32 grantId)))
        private _latestGrants;

    /// @param consortium_ The deployed Consortium.
    constructor(address consortium_) ConsortiumModule(consortium_) {}

    // ---------------------------------------------------------------- writes

    /// @inheritdoc ISharingRegistry
    function registerDataset(bytes32 datasetId, bytes32 metadataHash) external {
        (bytes32 ownerDept, uint64 seq) = _recordAction(ROLE_DATA_OWNER);
        if (datasetId == bytes32(0)) revert SharingRegistryInvalidDatasetId(datasetId);
        if (metadataHash == bytes32(0)) revert SharingRegistryInvalidMetadataHash(metadataHash);
        Dataset storage dataset = _datasets[datasetId];
        if (dataset.ownerDept != bytes32(0)) revert SharingRegistryDatasetExists(datasetId);
        dataset.ownerDept = ownerDept;
        dataset.metadataHash = metadataHash;
        dataset.registeredAt = uint64(block.timestamp);
        emit DatasetRegistered(datasetId, ownerDept, metadataHash, seq);
    }

    /// @inheritdoc ISharingRegistry
    function updateDatasetMetadata(bytes32 datasetId, bytes32 metadataHash) external {
        (bytes32 ownerDept, uint64 seq) = _recordAction(ROLE_DATA_OWNER);
        Dataset storage dataset = _requireDatasetOwner(datasetId, ownerDept);
        if (metadataHash == bytes32(0)) revert SharingRegistryInvalidMetadataHash(metadataHash);
        bytes32 previous = dataset.metadataHash;
        dataset.metadataHash = metadataHash;
        emit DatasetMetadataUpdated(datasetId, ownerDept, previous, metadataHash, seq);
    }

    /// @inheritdoc ISharingRegistry
    function grant(
        bytes32 grantId,
        bytes32 datasetId,
        bytes32 consumerDept,
        bytes32 purposeCode,
        bytes32 scopeHash,
        uint64 validFrom,
        uint64 validUntil
    ) external {
        (bytes32 ownerDept, uint64 seq) = _recordAction(ROLE_DATA_OWNER);
        _requireDatasetOwner(datasetId, ownerDept);
        if (grantId == bytes32(0)) revert SharingRegistryInvalidGrantId(grantId);
        Grant storage stored = _grants[grantId];
        if (stored.datasetId != bytes32(0)) revert SharingRegistryGrantExists(grantId);
        if (consumerDept == ownerDept) revert SharingRegistryConsumerIsOwner(datasetId, consumerDept);
        _requireDepartment(consumerDept);
        if (validFrom >= validUntil || validUntil <= block.timestamp) {
            revert SharingRegistryInvalidValidity(validFrom, validUntil, uint64(block.timestamp));
        }
        stored.datasetId = datasetId;
        stored.consumerDept = consumerDept;
        stored.purposeCode = purposeCode;
        stored.scopeHash = scopeHash;
        stored.validFrom = validFrom;
        stored.validUntil = validUntil;
        _latestGrants[datasetId][consumerDept][purposeCode] = grantId;
        emit GrantIssued(
            grantId, datasetId, consumerDept, ownerDept, purposeCode, scopeHash, validFrom, validUntil, seq
        );
    }

    /// @inheritdoc ISharingRegistry
    function revoke(bytes32 grantId, bytes32 reasonCode) external {
        (bytes32 ownerDept, uint64 seq) = _recordAction(ROLE_DATA_OWNER);
        Grant storage stored = _requireGrant(grantId);
        _requireDatasetOwner(stored.datasetId, ownerDept);
        _requireNotDead(grantId, stored);
        stored.revokedAt = uint64(block.timestamp);
        emit GrantRevoked(grantId, ownerDept, reasonCode, seq);
    }

    /// @inheritdoc ISharingRegistry
    function logUse(bytes32 grantId, bytes32 requestHash) external returns (uint64 uses) {
        (bytes32 consumerDept, uint64 seq) = _recordAction(ANY_MEMBER);
        Grant storage stored = _requireGrant(grantId);
        if (stored.consumerDept != consumerDept) revert SharingRegistryNotConsumer(grantId, consumerDept);
        _requireNotDead(grantId, stored);
        if (block.timestamp < stored.validFrom) revert SharingRegistryGrantNotYetValid(grantId, stored.validFrom);
        uses = ++stored.useCount;
        emit DataUseLogged(grantId, consumerDept, requestHash, uses, seq);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IConsortiumModule
    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    /// @inheritdoc ISharingRegistry
    function datasetOf(bytes32 datasetId) external view returns (DatasetView memory) {
        Dataset storage dataset = _requireDataset(datasetId);
        return DatasetView(datasetId, dataset.ownerDept, dataset.metadataHash, dataset.registeredAt);
    }

    /// @inheritdoc ISharingRegistry
    function grantOf(bytes32 grantId) external view returns (GrantView memory) {
        Grant storage stored = _requireGrant(grantId);
        return GrantView({
            grantId: grantId,
            datasetId: stored.datasetId,
            ownerDept: _datasets[stored.datasetId].ownerDept,
            consumerDept: stored.consumerDept,
            purposeCode: stored.purposeCode,
            scopeHash: stored.scopeHash,
            validFrom: stored.validFrom,
            validUntil: stored.validUntil,
            revokedAt: stored.revokedAt,
            useCount: stored.useCount,
            status: _status(stored)
        });
    }

    /// @inheritdoc ISharingRegistry
    function grantStatus(bytes32 grantId) external view returns (GrantStatus) {
        return _status(_grants[grantId]);
    }

    /// @inheritdoc ISharingRegistry
    function isLive(bytes32 grantId) external view returns (bool) {
        return _status(_grants[grantId]) == GrantStatus.Live;
    }

    /// @inheritdoc ISharingRegistry
    function isAuthorised(bytes32 datasetId, bytes32 consumerDept, bytes32 purposeCode)
        external
        view
        returns (bool live, bytes32 grantId)
    {
        grantId = _latestGrants[datasetId][consumerDept][purposeCode];
        live = _status(_grants[grantId]) == GrantStatus.Live;
    }

    /// @inheritdoc ISharingRegistry
    function useCount(bytes32 grantId) external view returns (uint64) {
        return _grants[grantId].useCount;
    }

    // ---------------------------------------------------------------- internals

    function _requireDataset(bytes32 datasetId) private view returns (Dataset storage dataset) {
        dataset = _datasets[datasetId];
        if (dataset.ownerDept == bytes32(0)) revert SharingRegistryUnknownDataset(datasetId);
    }

    function _requireDatasetOwner(bytes32 datasetId, bytes32 callerDept)
        private
        view
        returns (Dataset storage dataset)
    {
        dataset = _requireDataset(datasetId);
        if (dataset.ownerDept != callerDept) revert SharingRegistryNotDatasetOwner(datasetId, callerDept);
    }

    function _requireGrant(bytes32 grantId) private view returns (Grant storage stored) {
        stored = _grants[grantId];
        if (stored.datasetId == bytes32(0)) revert SharingRegistryUnknownGrant(grantId);
    }

    function _requireNotDead(bytes32 grantId, Grant storage stored) private view {
        if (stored.revokedAt != 0) revert SharingRegistryGrantRevoked(grantId, stored.revokedAt);
        if (block.timestamp >= stored.validUntil) revert SharingRegistryGrantExpired(grantId, stored.validUntil);
    }

    function _status(Grant storage stored) private view returns (GrantStatus) {
        if (stored.datasetId == bytes32(0)) return GrantStatus.None;
        if (stored.revokedAt != 0) return GrantStatus.Revoked;
        if (block.timestamp >= stored.validUntil) return GrantStatus.Expired;
        if (block.timestamp < stored.validFrom) return GrantStatus.NotYetValid;
        return GrantStatus.Live;
    }
}
