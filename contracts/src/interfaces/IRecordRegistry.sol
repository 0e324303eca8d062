// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IConsortiumModule} from "./IConsortiumModule.sol";

/// @title IRecordRegistry
/// @notice Anchors the hashes of government records that departments share and maintain together, and the
/// Merkle roots of record batches. Only hashes and metadata go on chain; the records stay with their owners.
/// @dev A record is owned by the department that anchored it, which may name up to MAX_CO_MAINTAINERS other
/// departments as co-maintainers. Owner and co-maintainers append versions (each version points at the hash
/// of the one before, and history is never rewritten) and endorse each other's versions; the latest version
/// is confirmed once it has the record's required number of endorsements. Hash algorithm codes:
/// 1 = SHA-256, 2 = Keccak-256, 3 = SM3.
interface IRecordRegistry is IConsortiumModule {
    /// @notice A record as returned by views.
    struct RecordView {
        bytes32 recordId;
        bytes32 ownerDept;
        bytes32 schemaId;
        uint32 latestVersion;
        uint8 requiredEndorsements;
        uint8 coMaintainerCount;
        uint64 anchoredAt;
    }

    /// @notice One version of a record as returned by views.
    struct VersionView {
        uint32 version;
        bytes32 contentHash;
        uint8 hashAlgorithm;
        bytes32 previousContentHash;
        bytes32 authorDept;
        uint32 endorsements;
        uint64 appendedAt;
    }

    // ---------------------------------------------------------------- events

    /// @notice A department anchored a new record (version 1) and named its co-maintainers.
    event RecordAnchored(
        bytes32 indexed recordId,
        bytes32 indexed ownerDept,
        bytes32 contentHash,
        uint8 hashAlgorithm,
        bytes32 schemaId,
        bytes32[] coMaintainers,
        uint8 requiredEndorsements,
        uint64 actionSeq
    );
    /// @notice The owner named another department as co-maintainer of a record.
    event MaintainerAdded(
        bytes32 indexed recordId, bytes32 indexed maintainerDept, bytes32 ownerDept, uint64 actionSeq
    );
    /// @notice The owner removed a co-maintainer of a record; its past versions and endorsements stay.
    event MaintainerRemoved(
        bytes32 indexed recordId, bytes32 indexed maintainerDept, bytes32 ownerDept, uint64 actionSeq
    );
    /// @notice A named department appended a new version of a record.
    event RecordVersionAppended(
        bytes32 indexed recordId,
        bytes32 indexed authorDept,
        uint32 version,
        bytes32 contentHash,
        uint8 hashAlgorithm,
        bytes32 previousContentHash,
        uint64 actionSeq
    );
    /// @notice A named department other than its author endorsed a version.
    event VersionEndorsed(
        bytes32 indexed recordId, bytes32 indexed endorserDept, uint32 version, uint32 endorsements, uint64 actionSeq
    );
    /// @notice A department anchored the Merkle root of a batch of records.
    event BatchAnchored(bytes32 indexed root, bytes32 indexed ownerDept, uint32 leafCount, uint64 actionSeq);

    // ---------------------------------------------------------------- errors

    /// @notice The record id is zero.
    error RecordRegistryInvalidRecordId(bytes32 recordId);
    /// @notice A record with this id was anchored already.
    error RecordRegistryRecordExists(bytes32 recordId);
    /// @notice No record has this id.
    error RecordRegistryUnknownRecord(bytes32 recordId);
    /// @notice The record has no such version.
    error RecordRegistryUnknownVersion(bytes32 recordId, uint32 version);
    /// @notice The content hash is zero.
    error RecordRegistryInvalidContentHash(bytes32 contentHash);
    /// @notice The hash algorithm code is not 1 (SHA-256), 2 (Keccak-256) or 3 (SM3).
    error RecordRegistryUnsupportedHashAlgorithm(uint8 hashAlgorithm);
    /// @notice The record would have more than `max` co-maintainers.
    error RecordRegistryTooManyMaintainers(uint256 count, uint256 max);
    /// @notice The required number of endorsements is above `max`.
    error RecordRegistryInvalidRequiredEndorsements(uint8 requiredEndorsements, uint8 max);
    /// @notice The department is named on the record already (or listed twice).
    error RecordRegistryAlreadyMaintainer(bytes32 recordId, bytes32 deptId);
    /// @notice The department is not a co-maintainer of the record.
    error RecordRegistryNotMaintainer(bytes32 recordId, bytes32 deptId);
    /// @notice The owner cannot also be a co-maintainer of its own record.
    error RecordRegistryOwnerAsMaintainer(bytes32 recordId, bytes32 deptId);
    /// @notice The caller's department is neither the owner nor a co-maintainer of the record.
    error RecordRegistryNotNamed(bytes32 recordId, bytes32 callerDept);
    /// @notice Only the record's owner may do this.
    error RecordRegistryNotOwner(bytes32 recordId, bytes32 callerDept);
    /// @notice A department cannot endorse a version it wrote.
    error RecordRegistryAuthorCannotEndorse(bytes32 recordId, uint32 version, bytes32 deptId);
    /// @notice The department endorsed this version already.
    error RecordRegistryAlreadyEndorsed(bytes32 recordId, uint32 version, bytes32 deptId);
    /// @notice The batch root is zero.
    error RecordRegistryInvalidRoot(bytes32 root);
    /// @notice This root was anchored already.
    error RecordRegistryBatchExists(bytes32 root);
    /// @notice A batch needs at least one leaf.
    error RecordRegistryInvalidLeafCount(uint32 leafCount);

    // ---------------------------------------------------------------- writes

    /// @notice Anchors a new record as version 1, owned by the caller's department.
    /// @dev Requirements: caller acts for an active department with ROLE_RECORD_KEEPER; `recordId` is non-zero
    /// and unused; `contentHash` non-zero and `hashAlgorithm` supported; at most MAX_CO_MAINTAINERS
    /// co-maintainers, each an existing department, none twice, not the owner; `requiredEndorsements` at most
    /// MAX_REQUIRED_ENDORSEMENTS. Emits RecordAnchored.
    /// @param recordId The record's id, chosen by the owner (for example a hash of its internal reference).
    /// @param contentHash Hash of the record's content.
    /// @param hashAlgorithm How `contentHash` was computed (1 SHA-256, 2 Keccak-256, 3 SM3).
    /// @param schemaId The record's schema or type.
    /// @param coMaintainers Departments that may append and endorse versions besides the owner.
    /// @param requiredEndorsements Endorsements the latest version needs to count as confirmed.
    function anchorRecord(
        bytes32 recordId,
        bytes32 contentHash,
        uint8 hashAlgorithm,
        bytes32 schemaId,
        bytes32[] calldata coMaintainers,
        uint8 requiredEndorsements
    ) external;

    /// @notice Names a department as co-maintainer of a record, or removes it.
    /// @dev Requirements: caller acts for the record's owner department with ROLE_RECORD_KEEPER; to name:
    /// `deptId` exists, is not the owner, not named yet, and the record has fewer than MAX_CO_MAINTAINERS; to
    /// remove: `deptId` is a co-maintainer. Emits MaintainerAdded or MaintainerRemoved.
    /// @param recordId The record.
    /// @param deptId The department to name or remove.
    /// @param named True to name, false to remove.
    function setMaintainer(bytes32 recordId, bytes32 deptId, bool named) external;

    /// @notice Appends version n+1 of a record, linked to the content hash of version n.
    /// @dev Requirements: caller acts for the owner or a co-maintainer department, with ROLE_RECORD_KEEPER;
    /// `contentHash` non-zero and `hashAlgorithm` supported. Emits RecordVersionAppended.
    /// @param recordId The record.
    /// @param contentHash Hash of the new content.
    /// @param hashAlgorithm How `contentHash` was computed.
    /// @return newVersion The new version number.
    function appendVersion(bytes32 recordId, bytes32 contentHash, uint8 hashAlgorithm)
        external
        returns (uint32 newVersion);

    /// @notice Endorses one version of a record for the caller's department.
    /// @dev Requirements: caller acts for an active department named on the record (owner or co-maintainer)
    /// that is not the version's author and has not endorsed it yet; no role beyond membership. Emits
    /// VersionEndorsed.
    /// @param recordId The record.
    /// @param recordVersion The version to endorse.
    /// @return endorsements The version's endorsements after this one.
    function endorse(bytes32 recordId, uint32 recordVersion) external returns (uint32 endorsements);

    /// @notice Anchors the Merkle root of a batch of records (the bulk path: one transaction for many records).
    /// @dev Requirements: caller acts for an active department with ROLE_RECORD_KEEPER; `root` non-zero and never
    /// anchored; `leafCount` at least 1. Leaves are built as recordLeaf does. Emits BatchAnchored.
    /// @param root The tree's root.
    /// @param leafCount How many records the tree holds.
    function anchorBatch(bytes32 root, uint32 leafCount) external;

    // ---------------------------------------------------------------- views

    /// @notice One record. Reverts with RecordRegistryUnknownRecord if there is none.
    function recordOf(bytes32 recordId) external view returns (RecordView memory);

    /// @notice One version of a record, 1 to latestVersion. Reverts with RecordRegistryUnknownVersion otherwise.
    function versionOf(bytes32 recordId, uint32 recordVersion) external view returns (VersionView memory);

    /// @notice Whether a department is named on a record, as owner or co-maintainer.
    function isNamed(bytes32 recordId, bytes32 deptId) external view returns (bool);

    /// @notice Whether a department has endorsed a version.
    function hasEndorsed(bytes32 recordId, uint32 recordVersion, bytes32 deptId) external view returns (bool);

    /// @notice How many departments endorsed a version.
    function endorsementCount(bytes32 recordId, uint32 recordVersion) external view returns (uint32);

    /// @notice Whether the record's latest version has at least the required endorsements; false for an
    /// unknown record.
    function isConfirmed(bytes32 recordId) external view returns (bool);

    /// @notice Who anchored a batch root, when, and how many leaves it holds; all zero for an unknown root.
    function batchOf(bytes32 root)
        external
        view
        returns (bytes32 ownerDept, uint64 anchoredAt, uint32 leafCount);

    /// @notice Whether `proof` shows `leaf` in the anchored batch `root` (sorted-pair keccak256 tree); false
    /// for a root that was never anchored.
    function verifyLeaf(bytes32 root, bytes32 leaf, bytes32[] calldata proof) external view returns (bool);

    /// @notice Whether `proof` shows the record with these fields in the anchored batch `root`; the leaf is
    /// recordLeaf(recordId, contentHash, hashAlgorithm, schemaId).
    function verifyRecordInBatch(
        bytes32 root,
        bytes32 recordId,
        bytes32 contentHash,
        uint8 hashAlgorithm,
        bytes32 schemaId,
        bytes32[] calldata proof
    ) external view returns (bool);

    /// @notice The batch leaf of a record: keccak256(bytes.concat(keccak256(abi.encode(recordId, contentHash,
    /// hashAlgorithm, schemaId)))), the leaf of an OpenZeppelin StandardMerkleTree with leaf types
    /// (bytes32, bytes32, uint8, bytes32). Hashing twice keeps a leaf from passing for an internal node.
    function recordLeaf(bytes32 recordId, bytes32 contentHash, uint8 hashAlgorithm, bytes32 schemaId)
        external
        pure
        returns (bytes32);
}
