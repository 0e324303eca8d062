// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ICertificateRegistry} from "./interfaces/ICertificateRegistry.sol";
import {IConsortiumModule} from "./interfaces/IConsortiumModule.sol";
import {ConsortiumModule} from "./libraries/ConsortiumModule.sol";
import {MerkleProof} from "./libraries/MerkleProof.sol";

/// @title CertificateRegistry
/// @notice Electronic licences and certificates: issue, batch issue, suspend, reinstate, revoke, supersede.
/// @dev Design notes (gas budgets: issue <= 80k, revoke <= 40k, batch <= 200 per certificate; see
/// contracts/gas-report.json):
/// - One slot per certificate. The issuer is the department's one-byte number from the Consortium (returned by
///   recordAction for free), times are uint40, and the remaining 160 bits are a fingerprint of the fields, so
///   issue writes one fresh slot and every status change rewrites that same slot and nothing else.
/// - The fields are not stored: they are in the issue event, and verifyCertificate checks them against the
///   fingerprint. Reason codes are in the status events only.
/// - A batch costs one slot in total. Its certificates get a slot when they first need a status (see the
///   *Batched functions in the interface); until then they are proven against the root.
/// - Revoked and Superseded are final, so a supersede chain cannot loop: a successor must be Valid.
contract CertificateRegistry is ICertificateRegistry, ConsortiumModule {
    uint8 public constant HASH_SHA256 = 1;
    uint8 public constant HASH_KECCAK256 = 2;
    uint8 public constant HASH_SM3 = 3;

    // A certificate's slot, packed by hand so that every write is exactly one SSTORE of one word:
    // bits 0-7 status, 8-15 issuer's department number, 16-55 issuedAt, 56-95 statusChangedAt,
    // 96-255 fingerprint (the first 20 bytes of certificateLeaf).
    uint256 private constant ISSUER_SHIFT = 8;
    uint256 private constant ISSUED_AT_SHIFT = 16;
    uint256 private constant CHANGED_AT_SHIFT = 56;
    uint256 private constant FINGERPRINT_SHIFT = 96;
    uint256 private constant STATUS_AND_CHANGED_AT_MASK = 0xff | (uint256(type(uint40).max) << CHANGED_AT_SHIFT);

    uint8 private constant VALID = uint8(CertificateStatus.Valid);
    uint8 private constant SUSPENDED = uint8(CertificateStatus.Suspended);
    uint8 private constant REVOKED = uint8(CertificateStatus.Revoked);
    uint8 private constant SUPERSEDED = uint8(CertificateStatus.Superseded);

    struct Batch {
        uint8 issuer;
        uint40 issuedAt;
        uint32 count;
    }

    /// @dev A struct around the word so that a storage reference can be kept: the slot's address is hashed
    /// once per call rather than once per access.
    struct Certificate {
        uint256 word;
    }

    mapping(bytes32 certId => Certificate) private _certificates;
    mapping(bytes32 certId => bytes32 newCertId) private _successors;
    mapping(bytes32 certId => bytes32 root) private _batchRoots;
    mapping(bytes32 root => Batch) private _batches;

    /// @param consortium_ The deployed Consortium.
    constructor(address consortium_) ConsortiumModule(consortium_) {}

    // ---------------------------------------------------------------- writes

    /// @inheritdoc ICertificateRegistry
    function issue(
        bytes32 certId,
        bytes32 documentHash,
        uint8 hashAlgorithm,
        bytes32 holderCommitment,
        bytes32 certType,
        uint64 validFrom,
        uint64 validUntil
    ) external {
        (bytes32 issuerDept, uint64 seq, uint8 issuer) = _recordNumberedAction(ROLE_CERTIFICATE_ISSUER);
        _checkFields(certId, documentHash, hashAlgorithm, validFrom, validUntil);
        Certificate storage stored = _certificates[certId];
        if (stored.word != 0) revert CertificateRegistryCertificateExists(certId);
        bytes32 leaf = _leaf(
            abi.encode(certId, documentHash, hashAlgorithm, holderCommitment, certType, validFrom, validUntil)
        );
        stored.word = _pack(issuer, uint40(block.timestamp), bytes20(leaf));
        emit CertificateIssued(
            certId, issuerDept, certType, documentHash, hashAlgorithm, holderCommitment, validFrom, validUntil, seq
        );
    }

    /// @inheritdoc ICertificateRegistry
    function issueBatch(bytes32 root, uint32 count) external {
        (bytes32 issuerDept, uint64 seq, uint8 issuer) = _recordNumberedAction(ROLE_CERTIFICATE_ISSUER);
        if (root == bytes32(0)) revert CertificateRegistryInvalidRoot(root);
        if (count == 0) revert CertificateRegistryInvalidBatchCount(count);
        if (_batches[root].issuedAt != 0) revert CertificateRegistryBatchExists(root);
        _batches[root] = Batch(issuer, uint40(block.timestamp), count);
        emit CertificateBatchIssued(root, issuerDept, count, seq);
    }

    /// @inheritdoc ICertificateRegistry
    function registerBatchCertificate(bytes32 root, CertificateLeaf calldata leaf, bytes32[] calldata proof)
        external
    {
        _register(root, leaf, proof);
    }

    /// @inheritdoc ICertificateRegistry
    /// @dev The one write whose budget leaves no room for Solidity's glue (40,000 gas, of which ~38,400 are
    /// the transaction, calldata, the cold call into the Consortium, three cold slots and the event), so its
    /// usual case is written out by hand: the certificate's slot is checked as _revoke checks it and
    /// rewritten as _withStatus would, and the event is logged straight from the Consortium's answer in
    /// memory, whose second word is already actionSeq. Anything else goes through _revoke, which names the
    /// refusal; revokeBatched runs _revoke, and the tests hold both to the same results.
    function revoke(bytes32 certId, bytes32 reasonCode) external {
        uint256 answer = _recordActionAnswer(ROLE_CERTIFICATE_ISSUER);
        bytes32 topic = CertificateRevoked.selector;
        uint256 keptBits = ~STATUS_AND_CHANGED_AT_MASK;
        uint256 revoked = REVOKED;
        assembly ("memory-safe") {
            mstore(0x00, certId)
            mstore(0x20, _certificates.slot)
            let slot := keccak256(0x00, 0x40)
            let word := sload(slot)
            let issuer := mload(add(answer, 0x40))
            // Valid (1) or Suspended (2): status - 1 < 2, with None wrapping round to a large number.
            if and(eq(and(shr(ISSUER_SHIFT, word), 0xff), issuer), lt(sub(and(word, 0xff), 1), 2)) {
                let changedAt := shl(CHANGED_AT_SHIFT, and(timestamp(), 0xffffffffff))
                sstore(slot, or(or(and(word, keptBits), revoked), changedAt))
                let issuerDept := mload(answer)
                mstore(answer, reasonCode)
                log3(answer, 0x40, topic, certId, issuerDept)
                stop()
            }
        }
        (bytes32 issuerDept, uint64 seq, uint8 issuer) = _readActionAnswer(answer);
        _revoke(certId, reasonCode, issuerDept, seq, issuer);
    }

    /// @inheritdoc ICertificateRegistry
    function suspend(bytes32 certId, bytes32 reasonCode) external {
        (bytes32 issuerDept, uint64 seq, uint8 issuer) = _recordNumberedAction(ROLE_CERTIFICATE_ISSUER);
        _suspend(certId, reasonCode, issuerDept, seq, issuer);
    }

    /// @inheritdoc ICertificateRegistry
    function reinstate(bytes32 certId) external {
        (bytes32 issuerDept, uint64 seq, uint8 issuer) = _recordNumberedAction(ROLE_CERTIFICATE_ISSUER);
        _reinstate(certId, issuerDept, seq, issuer);
    }

    /// @inheritdoc ICertificateRegistry
    function supersede(bytes32 oldCertId, bytes32 newCertId) external {
        (bytes32 issuerDept, uint64 seq, uint8 issuer) = _recordNumberedAction(ROLE_CERTIFICATE_ISSUER);
        _supersede(oldCertId, newCertId, issuerDept, seq, issuer);
    }

    /// @inheritdoc ICertificateRegistry
    function revokeBatched(
        bytes32 root,
        CertificateLeaf calldata leaf,
        bytes32[] calldata proof,
        bytes32 reasonCode
    ) external {
        (bytes32 issuerDept, uint64 seq, uint8 issuer) = _recordNumberedAction(ROLE_CERTIFICATE_ISSUER);
        _register(root, leaf, proof);
        _revoke(leaf.certId, reasonCode, issuerDept, seq, issuer);
    }

    /// @inheritdoc ICertificateRegistry
    function suspendBatched(
        bytes32 root,
        CertificateLeaf calldata leaf,
        bytes32[] calldata proof,
        bytes32 reasonCode
    ) external {
        (bytes32 issuerDept, uint64 seq, uint8 issuer) = _recordNumberedAction(ROLE_CERTIFICATE_ISSUER);
        _register(root, leaf, proof);
        _suspend(leaf.certId, reasonCode, issuerDept, seq, issuer);
    }

    /// @inheritdoc ICertificateRegistry
    function reinstateBatched(bytes32 root, CertificateLeaf calldata leaf, bytes32[] calldata proof) external {
        (bytes32 issuerDept, uint64 seq, uint8 issuer) = _recordNumberedAction(ROLE_CERTIFICATE_ISSUER);
        _register(root, leaf, proof);
        _reinstate(leaf.certId, issuerDept, seq, issuer);
    }

    /// @inheritdoc ICertificateRegistry
    function supersedeBatched(
        bytes32 root,
        CertificateLeaf calldata leaf,
        bytes32[] calldata proof,
        bytes32 newCertId
    ) external {
        (bytes32 issuerDept, uint64 seq, uint8 issuer) = _recordNumberedAction(ROLE_CERTIFICATE_ISSUER);
        _register(root, leaf, proof);
        _supersede(leaf.certId, newCertId, issuerDept, seq, issuer);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IConsortiumModule
    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    /// @inheritdoc ICertificateRegistry
    function certificateOf(bytes32 certId) external view returns (CertificateView memory view_) {
        uint256 word = _certificates[certId].word;
        view_.certId = certId;
        if (word == 0) return view_;
        view_.status = CertificateStatus(uint8(word));
        view_.issuerDept = _departmentByNumber(_issuerOf(word));
        view_.issuedAt = uint40(word >> ISSUED_AT_SHIFT);
        view_.statusChangedAt = uint40(word >> CHANGED_AT_SHIFT);
        view_.fingerprint = _fingerprintOf(word);
        view_.supersededBy = _successors[certId];
        view_.batchRoot = _batchRoots[certId];
    }

    /// @inheritdoc ICertificateRegistry
    function verifyCertificate(CertificateLeaf calldata leaf) external view returns (bool) {
        uint256 word = _certificates[leaf.certId].word;
        return word != 0 && _fingerprintOf(word) == bytes20(certificateLeaf(leaf));
    }

    /// @inheritdoc ICertificateRegistry
    function verifyBatchCertificate(bytes32 root, CertificateLeaf calldata leaf, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        if (_batches[root].issuedAt == 0) return false;
        bytes32 leafHash = certificateLeaf(leaf);
        if (!MerkleProof.verify(proof, root, leafHash)) return false;
        uint256 word = _certificates[leaf.certId].word;
        return word == 0 || _fingerprintOf(word) == bytes20(leafHash);
    }

    /// @inheritdoc ICertificateRegistry
    function batchOf(bytes32 root) external view returns (bytes32 issuerDept, uint64 issuedAt, uint32 count) {
        Batch memory batch = _batches[root];
        if (batch.issuedAt == 0) return (bytes32(0), 0, 0);
        return (_departmentByNumber(batch.issuer), batch.issuedAt, batch.count);
    }

    /// @inheritdoc ICertificateRegistry
    function certificateLeaf(CertificateLeaf calldata leaf) public pure returns (bytes32) {
        return _leaf(abi.encode(leaf));
    }

    // ---------------------------------------------------------------- internals

    /// @dev Written for the revoke budget: one test covers the usual case; the refusals are told apart only
    /// when one happens.
    function _revoke(bytes32 certId, bytes32 reasonCode, bytes32 issuerDept, uint64 seq, uint8 issuer) private {
        Certificate storage stored = _certificates[certId];
        uint256 word = stored.word;
        bool revocable;
        unchecked {
            // Valid (1) or Suspended (2): status - 1 < 2, with None wrapping round to a large number.
            revocable = _issuerOf(word) == issuer && uint8(word) - 1 < 2;
        }
        if (!revocable) {
            _requireIssuer(certId, issuerDept, issuer);
            _requireChangeable(certId, word);
        }
        stored.word = _withStatus(word, REVOKED);
        emit CertificateRevoked(certId, issuerDept, reasonCode, seq);
    }

    function _suspend(bytes32 certId, bytes32 reasonCode, bytes32 issuerDept, uint64 seq, uint8 issuer) private {
        (Certificate storage stored, uint256 word) = _requireIssuer(certId, issuerDept, issuer);
        _requireChangeable(certId, word);
        if (uint8(word) == SUSPENDED) revert CertificateRegistryAlreadySuspended(certId);
        stored.word = _withStatus(word, SUSPENDED);
        emit CertificateSuspended(certId, issuerDept, reasonCode, seq);
    }

    function _reinstate(bytes32 certId, bytes32 issuerDept, uint64 seq, uint8 issuer) private {
        (Certificate storage stored, uint256 word) = _requireIssuer(certId, issuerDept, issuer);
        if (uint8(word) != SUSPENDED) revert CertificateRegistryNotSuspended(certId, CertificateStatus(uint8(word)));
        stored.word = _withStatus(word, VALID);
        emit CertificateReinstated(certId, issuerDept, seq);
    }

    function _supersede(bytes32 oldCertId, bytes32 newCertId, bytes32 issuerDept, uint64 seq, uint8 issuer)
        private
    {
        (Certificate storage stored, uint256 word) = _requireIssuer(oldCertId, issuerDept, issuer);
        _requireChangeable(oldCertId, word);
        if (newCertId == oldCertId) revert CertificateRegistryInvalidSuccessor(oldCertId, newCertId);
        _requireValidSuccessor(newCertId, issuerDept, issuer);
        stored.word = _withStatus(word, SUPERSEDED);
        _successors[oldCertId] = newCertId;
        emit CertificateSuperseded(oldCertId, newCertId, issuerDept, seq);
    }

    /// @dev Gives a batch certificate its slot, or checks the leaf against the slot it has.
    function _register(bytes32 root, CertificateLeaf calldata leaf, bytes32[] calldata proof) private {
        bytes32 certId = leaf.certId;
        bytes32 leafHash = certificateLeaf(leaf);
        Certificate storage stored = _certificates[certId];
        uint256 word = stored.word;
        if (word != 0) {
            if (_fingerprintOf(word) != bytes20(leafHash)) revert CertificateRegistryLeafMismatch(certId);
            return;
        }
        Batch memory batch = _batches[root];
        if (batch.issuedAt == 0) revert CertificateRegistryUnknownBatch(root);
        if (!MerkleProof.verify(proof, root, leafHash)) revert CertificateRegistryInvalidProof(root, certId);
        _checkFields(certId, leaf.documentHash, leaf.hashAlgorithm, leaf.validFrom, leaf.validUntil);
        stored.word = _pack(batch.issuer, batch.issuedAt, bytes20(leafHash));
        _batchRoots[certId] = root;
        _emitRegistered(root, leaf, _departmentByNumber(batch.issuer));
    }

    function _emitRegistered(bytes32 root, CertificateLeaf calldata leaf, bytes32 issuerDept) private {
        emit BatchCertificateRegistered(
            leaf.certId,
            root,
            issuerDept,
            leaf.documentHash,
            leaf.hashAlgorithm,
            leaf.holderCommitment,
            leaf.certType,
            leaf.validFrom,
            leaf.validUntil
        );
    }

    function _requireIssuer(bytes32 certId, bytes32 callerDept, uint8 callerNumber)
        private
        view
        returns (Certificate storage stored, uint256 word)
    {
        stored = _certificates[certId];
        word = stored.word;
        if (word == 0) revert CertificateRegistryUnknownCertificate(certId);
        if (_issuerOf(word) != callerNumber) revert CertificateRegistryNotIssuer(certId, callerDept);
    }

    function _requireValidSuccessor(bytes32 newCertId, bytes32 issuerDept, uint8 issuer) private view {
        (, uint256 successor) = _requireIssuer(newCertId, issuerDept, issuer);
        if (uint8(successor) != VALID) {
            revert CertificateRegistrySuccessorNotValid(newCertId, CertificateStatus(uint8(successor)));
        }
    }

    function _requireChangeable(bytes32 certId, uint256 word) private pure {
        uint8 status = uint8(word);
        if (status == REVOKED) revert CertificateRegistryAlreadyRevoked(certId);
        if (status == SUPERSEDED) revert CertificateRegistryAlreadySuperseded(certId);
    }

    /// @dev A new Valid certificate's slot; its status changed (to Valid) when it was issued.
    function _pack(uint8 issuer, uint40 issuedAt, bytes20 fingerprint) private pure returns (uint256) {
        return uint256(VALID) | (uint256(issuer) << ISSUER_SHIFT) | (uint256(issuedAt) << ISSUED_AT_SHIFT)
            | (uint256(issuedAt) << CHANGED_AT_SHIFT) | (uint256(uint160(fingerprint)) << FINGERPRINT_SHIFT);
    }

    /// @dev The slot with a new status, changed now.
    function _withStatus(uint256 word, uint8 status) private view returns (uint256) {
        return (word & ~STATUS_AND_CHANGED_AT_MASK) | status | (uint256(uint40(block.timestamp)) << CHANGED_AT_SHIFT);
    }

    function _issuerOf(uint256 word) private pure returns (uint8) {
        return uint8(word >> ISSUER_SHIFT);
    }

    function _fingerprintOf(uint256 word) private pure returns (bytes20) {
        return bytes20(uint160(word >> FINGERPRINT_SHIFT));
    }

    function _checkFields(
        bytes32 certId,
        bytes32 documentHash,
        uint8 hashAlgorithm,
        uint64 validFrom,
        uint64 validUntil
    ) private pure {
        if (certId == bytes32(0)) revert CertificateRegistryInvalidCertId(certId);
        if (documentHash == bytes32(0)) revert CertificateRegistryInvalidDocumentHash(documentHash);
        if (hashAlgorithm == 0 || hashAlgorithm > HASH_SM3) {
            revert CertificateRegistryUnsupportedHashAlgorithm(hashAlgorithm);
        }
        if (validFrom >= validUntil) revert CertificateRegistryInvalidValidity(validFrom, validUntil);
    }

    /// @dev The StandardMerkleTree leaf of ABI-encoded values: hashed twice, so no leaf can pass for a node.
    function _leaf(bytes memory encoded) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(encoded)));
    }
}
