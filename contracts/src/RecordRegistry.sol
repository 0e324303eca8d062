// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IConsortiumModule} from "./interfaces/IConsortiumModule.sol";
import {IRecordRegistry} from "./interfaces/IRecordRegistry.sol";
import {ConsortiumModule} from "./libraries/ConsortiumModule.sol";
import {MerkleProof} from "./libraries/MerkleProof.sol";

/// @title RecordRegistry
/// @notice Hashes of shared government records, their jointly maintained version history and endorsements,
/// and the Merkle roots of record batches.
/// @dev Design notes:
/// - A version stores its own hash only; the "previous hash" link is read from version n-1, so the chain of
///   versions cannot be broken and costs no extra slot.
/// - A version written by the record's owner (the usual case) leaves its author slot empty: owners never
///   change, so "empty" reads back as the owner and saves a storage write per version.
/// - Co-maintainers live in a mapping (no array), so every check is one slot read; the indexer learns the
///   list from RecordAnchored, MaintainerAdded and MaintainerRemoved.
/// - anchorBatch is the bulk path and writes exactly one new slot: the first 20 bytes of the owner's
///   department code, the time and the leaf count share it. Codes longer than 20 bytes (allowed, but no real
///   department uses one) spill their tail into a second slot.
contract RecordRegistry is IRecordRegistry, ConsortiumModule {
    uint8 public constant HASH_SHA256 = 1;
    uint8 public constant HASH_KECCAK256 = 2;
    uint8 public constant HASH_SM3 = 3;

    uint256 public constant MAX_CO_MAINTAINERS = 16;
    uint8 public constant MAX_REQUIRED_ENDORSEMENTS = 16;

    struct Record {
        bytes32 ownerDept;
        bytes32 schemaId;
        uint32 latestVersion;
        uint8 requiredEndorsements;
        uint8 coMaintainerCount;
        uint64 anchoredAt;
    }

    struct Version {
        bytes32 contentHash;
        bytes32 authorDept;
        uint8 hashAlgorithm;
        uint32 endorsements;
        uint64 appendedAt;
    }

    struct Batch {
        bytes20 ownerHead;
        uint64 anchoredAt;
        uint32 leafCount;
    }

    mapping(bytes32 recordId => Record) private _records;
    mapping(bytes32 recordId => mapping(uint32 version => Version)) private _versions;
    mapping(bytes32 recordId => mapping(bytes32 deptId => bool)) private _coMaintainers;
    mapping(bytes32 recordId => mapping(uint32 version => mapping(bytes32 deptId => bool))) private _endorsed;
    mapping(bytes32 root => Batch) private _batches;
    mapping(bytes32 root => bytes12 ownerTail) private _batchOwnerTails;

    /// @param consortium_ The deployed Consortium.
    constructor(address consortium_) ConsortiumModule(consortium_) {}

    // ---------------------------------------------------------------- writes

    /// @inheritdoc IRecordRegistry
    function anchorRecord(
        bytes32 recordId,
        bytes32 contentHash,
        uint8 hashAlgorithm,
        bytes32 schemaId,
        bytes32[] calldata coMaintainers,
        uint8 requiredEndorsements
    ) external {
        (bytes32 ownerDept, uint64 seq) = _recordAction(ROLE_RECORD_KEEPER);
        if (recordId == bytes32(0)) revert RecordRegistryInvalidRecordId(recordId);
        Record storage record = _records[recordId];
        if (record.latestVersion != 0) revert RecordRegistryRecordExists(recordId);
        _checkContent(contentHash, hashAlgorithm);
        if (requiredEndorsements > MAX_REQUIRED_ENDORSEMENTS) {
            revert RecordRegistryInvalidRequiredEndorsements(requiredEndorsements, MAX_REQUIRED_ENDORSEMENTS);
        }
        _nameCoMaintainers(recordId, ownerDept, coMaintainers);
        record.ownerDept = ownerDept;
        record.schemaId = schemaId;
        record.latestVersion = 1;
        record.requiredEndorsements = requiredEndorsements;
        record.coMaintainerCount = uint8(coMaintainers.length);
        record.anchoredAt = uint64(block.timestamp);
        _storeVersion(recordId, 1, contentHash, hashAlgorithm, ownerDept, ownerDept);
        emit RecordAnchored(
            recordId, ownerDept, contentHash, hashAlgorithm, schemaId, coMaintainers, requiredEndorsements, seq
        );
    }

    /// @inheritdoc IRecordRegistry
    function setMaintainer(bytes32 recordId, bytes32 deptId, bool named) external {
        (bytes32 callerDept, uint64 seq) = _recordAction(ROLE_RECORD_KEEPER);
        Record storage record = _requireRecord(recordId);
        if (record.ownerDept != callerDept) revert RecordRegistryNotOwner(recordId, callerDept);
        if (named) {
            if (record.coMaintainerCount >= MAX_CO_MAINTAINERS) {
                revert RecordRegistryTooManyMaintainers(record.coMaintainerCount + 1, MAX_CO_MAINTAINERS);
            }
            _nameCoMaintainer(recordId, callerDept, deptId);
            ++record.coMaintainerCount;
            emit MaintainerAdded(recordId, deptId, callerDept, seq);
        } else {
            if (!_coMaintainers[recordId][deptId]) revert RecordRegistryNotMaintainer(recordId, deptId);
            _coMaintainers[recordId][deptId] = false;
            --record.coMaintainerCount;
            emit MaintainerRemoved(recordId, deptId, callerDept, seq);
        }
    }

    /// @inheritdoc IRecordRegistry
    function appendVersion(bytes32 recordId, bytes32 contentHash, uint8 hashAlgorithm)
        external
        returns (uint32 newVersion)
    {
        (bytes32 authorDept, uint64 seq) = _recordAction(ROLE_RECORD_KEEPER);
        Record storage record = _requireNamed(recordId, authorDept);
        _checkContent(contentHash, hashAlgorithm);
        uint32 previous = record.latestVersion;
        newVersion = previous + 1;
        record.latestVersion = newVersion;
        _storeVersion(recordId, newVersion, contentHash, hashAlgorithm, authorDept, record.ownerDept);
        emit RecordVersionAppended(
            recordId, authorDept, newVersion, contentHash, hashAlgorithm, _versions[recordId][previous].contentHash, seq
        );
    }

    /// @inheritdoc IRecordRegistry
    function endorse(bytes32 recordId, uint32 recordVersion) external returns (uint32 endorsements) {
        (bytes32 endorserDept, uint64 seq) = _recordAction(ANY_MEMBER);
        Record storage record = _requireNamed(recordId, endorserDept);
        if (recordVersion == 0 || recordVersion > record.latestVersion) {
            revert RecordRegistryUnknownVersion(recordId, recordVersion);
        }
        Version storage stored = _versions[recordId][recordVersion];
        if (_authorOf(record, stored) == endorserDept) {
            revert RecordRegistryAuthorCannotEndorse(recordId, recordVersion, endorserDept);
        }
        mapping(bytes32 deptId => bool) storage endorsedBy = _endorsed[recordId][recordVersion];
        if (endorsedBy[endorserDept]) revert RecordRegistryAlreadyEndorsed(recordId, recordVersion, endorserDept);
        endorsedBy[endorserDept] = true;
        endorsements = ++stored.endorsements;
        emit VersionEndorsed(recordId, endorserDept, recordVersion, endorsements, seq);
    }

    /// @inheritdoc IRecordRegistry
    function anchorBatch(bytes32 root, uint32 leafCount) external {
        (bytes32 ownerDept, uint64 seq) = _recordAction(ROLE_RECORD_KEEPER);
        if (root == bytes32(0)) revert RecordRegistryInvalidRoot(root);
        if (leafCount == 0) revert RecordRegistryInvalidLeafCount(leafCount);
        Batch storage batch = _batches[root];
        if (batch.anchoredAt != 0) revert RecordRegistryBatchExists(root);
        _batches[root] = Batch(bytes20(ownerDept), uint64(block.timestamp), leafCount);
        bytes12 tail = bytes12(ownerDept << 160);
        if (tail != bytes12(0)) _batchOwnerTails[root] = tail;
        emit BatchAnchored(root, ownerDept, leafCount, seq);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IConsortiumModule
    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    /// @inheritdoc IRecordRegistry
    function recordOf(bytes32 recordId) external view returns (RecordView memory) {
        Record storage record = _requireRecord(recordId);
        return RecordView(
            recordId,
            record.ownerDept,
            record.schemaId,
            record.latestVersion,
            record.requiredEndorsements,
            record.coMaintainerCount,
            record.anchoredAt
        );
    }

    /// @inheritdoc IRecordRegistry
    function versionOf(bytes32 recordId, uint32 recordVersion) external view returns (VersionView memory) {
        Record storage record = _records[recordId];
        if (recordVersion == 0 || recordVersion > record.latestVersion) {
            revert RecordRegistryUnknownVersion(recordId, recordVersion);
        }
        Version storage stored = _versions[recordId][recordVersion];
        return VersionView(
            recordVersion,
            stored.contentHash,
            stored.hashAlgorithm,
            _versions[recordId][recordVersion - 1].contentHash,
            _authorOf(record, stored),
            stored.endorsements,
            stored.appendedAt
        );
    }

    /// @inheritdoc IRecordRegistry
    function isNamed(bytes32 recordId, bytes32 deptId) public view returns (bool) {
        return deptId != bytes32(0) && (_records[recordId].ownerDept == deptId || _coMaintainers[recordId][deptId]);
    }

    /// @inheritdoc IRecordRegistry
    function hasEndorsed(bytes32 recordId, uint32 recordVersion, bytes32 deptId) external view returns (bool) {
        return _endorsed[recordId][recordVersion][deptId];
    }

    /// @inheritdoc IRecordRegistry
    function endorsementCount(bytes32 recordId, uint32 recordVersion) external view returns (uint32) {
        return _versions[recordId][recordVersion].endorsements;
    }

    /// @inheritdoc IRecordRegistry
    function isConfirmed(bytes32 recordId) external view returns (bool) {
        Record storage record = _records[recordId];
        if (record.latestVersion == 0) return false;
        return _versions[recordId][record.latestVersion].endorsements >= record.requiredEndorsements;
    }

    /// @inheritdoc IRecordRegistry
    function batchOf(bytes32 root) public view returns (bytes32 ownerDept, uint64 anchoredAt, uint32 leafCount) {
        Batch memory batch = _batches[root];
        ownerDept = bytes32(batch.ownerHead) | (bytes32(_batchOwnerTails[root]) >> 160);
        return (ownerDept, batch.anchoredAt, batch.leafCount);
    }

    /// @inheritdoc IRecordRegistry
    function verifyLeaf(bytes32 root, bytes32 leaf, bytes32[] calldata proof) public view returns (bool) {
        return _batches[root].anchoredAt != 0 && MerkleProof.verify(proof, root, leaf);
    }

    /// @inheritdoc IRecordRegistry
    function verifyRecordInBatch(
        bytes32 root,
        bytes32 recordId,
        bytes32 contentHash,
        uint8 hashAlgorithm,
        bytes32 schemaId,
        bytes32[] calldata proof
    ) external view returns (bool) {
        return verifyLeaf(root, recordLeaf(recordId, contentHash, hashAlgorithm, schemaId), proof);
    }

    /// @inheritdoc IRecordRegistry
    function recordLeaf(bytes32 recordId, bytes32 contentHash, uint8 hashAlgorithm, bytes32 schemaId)
        public
        pure
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(recordId, contentHash, hashAlgorithm, schemaId))));
    }

    // ---------------------------------------------------------------- internals

    function _requireRecord(bytes32 recordId) private view returns (Record storage record) {
        record = _records[recordId];
        if (record.latestVersion == 0) revert RecordRegistryUnknownRecord(recordId);
    }

    function _requireNamed(bytes32 recordId, bytes32 callerDept) private view returns (Record storage record) {
        record = _requireRecord(recordId);
        if (record.ownerDept != callerDept && !_coMaintainers[recordId][callerDept]) {
            revert RecordRegistryNotNamed(recordId, callerDept);
        }
    }

    function _checkContent(bytes32 contentHash, uint8 hashAlgorithm) private pure {
        if (contentHash == bytes32(0)) revert RecordRegistryInvalidContentHash(contentHash);
        if (hashAlgorithm == 0 || hashAlgorithm > HASH_SM3) {
            revert RecordRegistryUnsupportedHashAlgorithm(hashAlgorithm);
        }
    }

    /// @dev The list is bounded by MAX_CO_MAINTAINERS, so the loop (one Consortium view per entry) is too.
    function _nameCoMaintainers(bytes32 recordId, bytes32 ownerDept, bytes32[] calldata coMaintainers) private {
        uint256 count = coMaintainers.length;
        if (count > MAX_CO_MAINTAINERS) revert RecordRegistryTooManyMaintainers(count, MAX_CO_MAINTAINERS);
        for (uint256 i = 0; i < count; ++i) {
            _nameCoMaintainer(recordId, ownerDept, coMaintainers[i]);
        }
    }

    function _nameCoMaintainer(bytes32 recordId, bytes32 ownerDept, bytes32 deptId) private {
        if (deptId == ownerDept) revert RecordRegistryOwnerAsMaintainer(recordId, deptId);
        if (_coMaintainers[recordId][deptId]) revert RecordRegistryAlreadyMaintainer(recordId, deptId);
        _requireDepartment(deptId);
        _coMaintainers[recordId][deptId] = true;
    }

    function _storeVersion(
        bytes32 recordId,
        uint32 recordVersion,
        bytes32 contentHash,
        uint8 hashAlgorithm,
        bytes32 authorDept,
        bytes32 ownerDept
    ) private {
        Version storage stored = _versions[recordId][recordVersion];
        stored.contentHash = contentHash;
        stored.hashAlgorithm = hashAlgorithm;
        stored.appendedAt = uint64(block.timestamp);
        if (authorDept != ownerDept) stored.authorDept = authorDept;
    }

    function _authorOf(Record storage record, Version storage stored) private view returns (bytes32 authorDept) {
        authorDept = stored.authorDept;
        if (authorDept == bytes32(0)) authorDept = record.ownerDept;
    }
}
