// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IConsortiumModule} from "./IConsortiumModule.sol";

/// @title ISharingRegistry
/// @notice Authorisations for one department to use another department's data set, and the log of each use.
/// @dev A data set is owned by the department that registered it. The owner grants a consumer department use
/// for a purpose and a time window; the owner can revoke a grant at any time. A grant that was revoked or whose
/// window ended is dead for good. The consumer logs each use (the hash of its request) while the grant is live,
/// so an auditor can match every data access to a live authorisation.
interface ISharingRegistry is IConsortiumModule {
    /// @notice Where a grant stands, derived from the clock and the revocation.
    enum GrantStatus {
        None,
        NotYetValid,
        Live,
        Expired,
        Revoked
    }

    /// @notice A data set as returned by views.
    struct DatasetView {
        bytes32 datasetId;
        bytes32 ownerDept;
        bytes32 metadataHash;
        uint64 registeredAt;
    }

    /// @notice A grant as returned by views.
    struct GrantView {
        bytes32 grantId;
        bytes32 datasetId;
        bytes32 ownerDept;
        bytes32 consumerDept;
        bytes32 purposeCode;
        bytes32 scopeHash;
        uint64 validFrom;
        uint64 validUntil;
        uint64 revokedAt;
        uint64 useCount;
        GrantStatus status;
    }

    // ---------------------------------------------------------------- events

    /// @notice A department registered a data set it owns.
    event DatasetRegistered(
        bytes32 indexed datasetId, bytes32 indexed ownerDept, bytes32 metadataHash, uint64 actionSeq
    );
    /// @notice The owner replaced a data set's metadata hash.
    event DatasetMetadataUpdated(
        bytes32 indexed datasetId,
        bytes32 indexed ownerDept,
        bytes32 previousMetadataHash,
        bytes32 metadataHash,
        uint64 actionSeq
    );
    /// @notice The owner authorised a consumer department to use a data set.
    event GrantIssued(
        bytes32 indexed grantId,
        bytes32 indexed datasetId,
        bytes32 indexed consumerDept,
        bytes32 ownerDept,
        bytes32 purposeCode,
        bytes32 scopeHash,
        uint64 validFrom,
        uint64 validUntil,
        uint64 actionSeq
    );
    /// @notice The owner revoked a grant; it can never be used again.
    event GrantRevoked(bytes32 indexed grantId, bytes32 indexed ownerDept, bytes32 reasonCode, uint64 actionSeq);
    /// @notice The consumer used data under a live grant.
    event DataUseLogged(
        bytes32 indexed grantId, bytes32 indexed consumerDept, bytes32 requestHash, uint64 useCount, uint64 actionSeq
    );

    // ---------------------------------------------------------------- errors

    /// @notice The data set id is zero.
    error SharingRegistryInvalidDatasetId(bytes32 datasetId);
    /// @notice A data set with this id was registered already.
    error SharingRegistryDatasetExists(bytes32 datasetId);
    /// @notice No data set has this id.
    error SharingRegistryUnknownDataset(bytes32 datasetId);
    /// @notice The metadata hash is zero.
    error SharingRegistryInvalidMetadataHash(bytes32 metadataHash);
    /// @notice Only the data set's owner department may do this.
    error SharingRegistryNotDatasetOwner(bytes32 datasetId, bytes32 callerDept);
    /// @notice The grant id is zero.
    error SharingRegistryInvalidGrantId(bytes32 grantId);
    /// @notice A grant with this id was issued already.
    error SharingRegistryGrantExists(bytes32 grantId);
    /// @notice No grant has this id.
    error SharingRegistryUnknownGrant(bytes32 grantId);
    /// @notice The owner cannot grant its own data set to itself.
    error SharingRegistryConsumerIsOwner(bytes32 datasetId, bytes32 consumerDept);
    /// @notice The window is empty or already over at `currentTime`.
    error SharingRegistryInvalidValidity(uint64 validFrom, uint64 validUntil, uint64 currentTime);
    /// @notice Only the grant's consumer department may log uses of it.
    error SharingRegistryNotConsumer(bytes32 grantId, bytes32 callerDept);
    /// @notice The grant was revoked.
    error SharingRegistryGrantRevoked(bytes32 grantId, uint64 revokedAt);
    /// @notice The grant's window ended.
    error SharingRegistryGrantExpired(bytes32 grantId, uint64 validUntil);
    /// @notice The grant's window has not begun.
    error SharingRegistryGrantNotYetValid(bytes32 grantId, uint64 validFrom);

    // ---------------------------------------------------------------- writes

    /// @notice Registers a data set owned by the caller's department.
    /// @dev Requirements: caller acts for an active department with ROLE_DATA_OWNER; `datasetId` non-zero and
    /// unused; `metadataHash` non-zero. Emits DatasetRegistered.
    /// @param datasetId The data set's id.
    /// @param metadataHash Hash of the data set's description (fields, source, owner contact).
    function registerDataset(bytes32 datasetId, bytes32 metadataHash) external;

    /// @notice Replaces a data set's metadata hash.
    /// @dev Requirements: caller acts for the owner department with ROLE_DATA_OWNER; `metadataHash` non-zero.
    /// Emits DatasetMetadataUpdated.
    /// @param datasetId The data set.
    /// @param metadataHash Hash of the new description.
    function updateDatasetMetadata(bytes32 datasetId, bytes32 metadataHash) external;

    /// @notice Authorises a consumer department to use a data set for a purpose during [validFrom, validUntil).
    /// @dev Requirements: caller acts for the data set's owner department with ROLE_DATA_OWNER; `grantId`
    /// non-zero and unused; the consumer is an existing department other than the owner;
    /// validFrom < validUntil and validUntil > now. The grant becomes the one isAuthorised reports for
    /// (datasetId, consumerDept, purposeCode). Emits GrantIssued.
    /// @param grantId The grant's id.
    /// @param datasetId The data set.
    /// @param consumerDept The department allowed to use it.
    /// @param purposeCode Why it may be used (a code from the city's purpose catalogue).
    /// @param scopeHash Hash of what exactly may be used (fields, rows, rate).
    /// @param validFrom First second of the window (unix time).
    /// @param validUntil First second after the window (unix time).
    function grant(
        bytes32 grantId,
        bytes32 datasetId,
        bytes32 consumerDept,
        bytes32 purposeCode,
        bytes32 scopeHash,
        uint64 validFrom,
        uint64 validUntil
    ) external;

    /// @notice Revokes a grant for good.
    /// @dev Requirements: caller acts for the data set's owner department with ROLE_DATA_OWNER; the grant is not
    /// revoked or expired already (SharingRegistryGrantRevoked / SharingRegistryGrantExpired). A grant whose
    /// window has not begun may be revoked. Emits GrantRevoked.
    /// @param grantId The grant.
    /// @param reasonCode Why (a code from the city's catalogue).
    function revoke(bytes32 grantId, bytes32 reasonCode) external;

    /// @notice Logs one use of data under a grant.
    /// @dev Requirements: caller acts for the grant's consumer department (active; no role beyond membership);
    /// the grant is live: not revoked (SharingRegistryGrantRevoked), validFrom <= now
    /// (SharingRegistryGrantNotYetValid) and now < validUntil (SharingRegistryGrantExpired). Emits DataUseLogged.
    /// @param grantId The grant.
    /// @param requestHash Hash of the consumer's request, kept off chain by the consumer.
    /// @return uses How many uses the grant has logged, this one included.
    function logUse(bytes32 grantId, bytes32 requestHash) external returns (uint64 uses);

    // ---------------------------------------------------------------- views

    /// @notice One data set. Reverts with SharingRegistryUnknownDataset if there is none.
    function datasetOf(bytes32 datasetId) external view returns (DatasetView memory);

    /// @notice One grant with its current status. Reverts with SharingRegistryUnknownGrant if there is none.
    function grantOf(bytes32 grantId) external view returns (GrantView memory);

    /// @notice Where a grant stands now; None for an unknown id.
    function grantStatus(bytes32 grantId) external view returns (GrantStatus);

    /// @notice Whether a grant is live now: issued, not revoked, validFrom <= now < validUntil.
    function isLive(bytes32 grantId) external view returns (bool);

    /// @notice Whether the consumer may use the data set for the purpose now, judged by the latest grant issued
    /// for that (data set, consumer, purpose); that grant's id, or zero if there never was one.
    /// @dev A newer grant replaces an older one for this answer even before its own window begins, so that the
    /// owner can narrow an authorisation by issuing a new grant.
    function isAuthorised(bytes32 datasetId, bytes32 consumerDept, bytes32 purposeCode)
        external
        view
        returns (bool live, bytes32 grantId);

    /// @notice How many uses a grant has logged.
    function useCount(bytes32 grantId) external view returns (uint64);
}
