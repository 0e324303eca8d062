// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IConsortiumModule} from "./IConsortiumModule.sol";

/// @title ICertificateRegistry
/// @notice Electronic licences and certificates (电子证照): departments holding the certificate-issuer role
/// issue them one by one or as a Merkle batch, and suspend, reinstate, revoke or supersede their own. Only
/// hashes and metadata go on chain: the document's hash, a salted commitment to the holder's identity number
/// (computed off chain; never the number itself), the certificate type and the validity window.
/// @dev Storage is one slot per certificate: status, issuer number, issue and status-change times, and a
/// 160-bit fingerprint (the first 20 bytes of certificateLeaf) that commits to every field. The fields
/// themselves travel in events (CertificateIssued, BatchCertificateRegistered) and can be checked against the
/// fingerprint with verifyCertificate. Reason codes live in the status events only: storing them would cost a
/// fresh slot per status change. "Was this certificate valid at time T" follows from the events: validFrom and
/// validUntil from its issue event, then every status event in block order, each at its block's time.
///
/// Batch-issued certificates have no slot until they need one. Any status change of one goes through the
/// *Batched variant of the function, which carries the batch root, the certificate's leaf values and its
/// Merkle proof: the first such call proves the leaf against the root, learns the issuer from the batch and
/// writes the slot (emitting BatchCertificateRegistered); later calls check the leaf against the stored
/// fingerprint. registerBatchCertificate does the same for anyone, without a status change, so a batch
/// certificate can become the successor in supersede. A certificate id names one certificate chain-wide: the
/// first issue or registration of an id wins, and an issuer must not reuse ids across batches.
///
/// Hash algorithm codes: 1 = SHA-256, 2 = Keccak-256, 3 = SM3. Lifecycle: Valid -> Suspended -> Valid
/// (reinstate); Valid or Suspended -> Revoked (final) or Superseded (final, pointing at a Valid successor
/// of the same issuer).
interface ICertificateRegistry is IConsortiumModule {
    /// @notice Where a certificate stands. None: no certificate with this id has a slot (unknown, or a batch
    /// certificate that has never been registered; see verifyBatchCertificate).
    enum CertificateStatus {
        None,
        Valid,
        Suspended,
        Revoked,
        Superseded
    }

    /// @notice A certificate's fields: the leaf values of a batch, in this order. The batch leaf is the
    /// OpenZeppelin StandardMerkleTree leaf with types (bytes32, bytes32, uint8, bytes32, bytes32, uint64, uint64).
    struct CertificateLeaf {
        bytes32 certId;
        bytes32 documentHash;
        uint8 hashAlgorithm;
        bytes32 holderCommitment;
        bytes32 certType;
        uint64 validFrom;
        uint64 validUntil;
    }

    /// @notice A certificate as returned by certificateOf. Times are block timestamps in seconds.
    struct CertificateView {
        bytes32 certId;
        CertificateStatus status;
        bytes32 issuerDept;
        uint64 issuedAt;
        uint64 statusChangedAt;
        bytes20 fingerprint;
        bytes32 supersededBy;
        bytes32 batchRoot;
    }

    // ---------------------------------------------------------------- events

    /// @notice A department issued a certificate.
    event CertificateIssued(
        bytes32 indexed certId,
        bytes32 indexed issuerDept,
        bytes32 indexed certType,
        bytes32 documentHash,
        uint8 hashAlgorithm,
        bytes32 holderCommitment,
        uint64 validFrom,
        uint64 validUntil,
        uint64 actionSeq
    );
    /// @notice A department issued a batch of certificates as one Merkle root.
    event CertificateBatchIssued(bytes32 indexed root, bytes32 indexed issuerDept, uint32 count, uint64 actionSeq);
    /// @notice A batch certificate got its own slot, proven against its batch root; its issue time stays the
    /// batch's. Not a department action, hence no sequence number.
    event BatchCertificateRegistered(
        bytes32 indexed certId,
        bytes32 indexed root,
        bytes32 indexed issuerDept,
        bytes32 documentHash,
        uint8 hashAlgorithm,
        bytes32 holderCommitment,
        bytes32 certType,
        uint64 validFrom,
        uint64 validUntil
    );
    /// @notice The issuer revoked a certificate for good.
    event CertificateRevoked(bytes32 indexed certId, bytes32 indexed issuerDept, bytes32 reasonCode, uint64 actionSeq);
    /// @notice The issuer suspended a certificate.
    event CertificateSuspended(
        bytes32 indexed certId, bytes32 indexed issuerDept, bytes32 reasonCode, uint64 actionSeq
    );
    /// @notice The issuer lifted a suspension.
    event CertificateReinstated(bytes32 indexed certId, bytes32 indexed issuerDept, uint64 actionSeq);
    /// @notice The issuer replaced a certificate by another one it issued.
    event CertificateSuperseded(
        bytes32 indexed certId, bytes32 indexed newCertId, bytes32 indexed issuerDept, uint64 actionSeq
    );

    // ---------------------------------------------------------------- errors

    /// @notice The certificate id is zero.
    error CertificateRegistryInvalidCertId(bytes32 certId);
    /// @notice The document hash is zero.
    error CertificateRegistryInvalidDocumentHash(bytes32 documentHash);
    /// @notice The hash algorithm code is not 1 (SHA-256), 2 (Keccak-256) or 3 (SM3).
    error CertificateRegistryUnsupportedHashAlgorithm(uint8 hashAlgorithm);
    /// @notice validFrom is not before validUntil.
    error CertificateRegistryInvalidValidity(uint64 validFrom, uint64 validUntil);
    /// @notice A certificate with this id exists already (issued, or registered from a batch).
    error CertificateRegistryCertificateExists(bytes32 certId);
    /// @notice No certificate with this id has a slot.
    error CertificateRegistryUnknownCertificate(bytes32 certId);
    /// @notice Only the issuing department may change a certificate's status.
    error CertificateRegistryNotIssuer(bytes32 certId, bytes32 callerDept);
    /// @notice The certificate is revoked; nothing changes it any more.
    error CertificateRegistryAlreadyRevoked(bytes32 certId);
    /// @notice The certificate is superseded; nothing changes it any more.
    error CertificateRegistryAlreadySuperseded(bytes32 certId);
    /// @notice The certificate is suspended already.
    error CertificateRegistryAlreadySuspended(bytes32 certId);
    /// @notice Only a suspended certificate can be reinstated.
    error CertificateRegistryNotSuspended(bytes32 certId, CertificateStatus status);
    /// @notice A certificate cannot supersede itself.
    error CertificateRegistryInvalidSuccessor(bytes32 certId, bytes32 newCertId);
    /// @notice The successor must be a Valid certificate of the same issuer.
    error CertificateRegistrySuccessorNotValid(bytes32 newCertId, CertificateStatus status);
    /// @notice The batch root is zero.
    error CertificateRegistryInvalidRoot(bytes32 root);
    /// @notice A batch needs at least one certificate.
    error CertificateRegistryInvalidBatchCount(uint32 count);
    /// @notice This root was issued already.
    error CertificateRegistryBatchExists(bytes32 root);
    /// @notice No batch has this root.
    error CertificateRegistryUnknownBatch(bytes32 root);
    /// @notice The proof does not lead from the certificate's leaf to the batch root.
    error CertificateRegistryInvalidProof(bytes32 root, bytes32 certId);
    /// @notice The certificate has a slot whose fingerprint is not this leaf's.
    error CertificateRegistryLeafMismatch(bytes32 certId);

    // ---------------------------------------------------------------- writes

    /// @notice Issues one certificate for the caller's department.
    /// @dev Requirements: caller acts for an active department with ROLE_CERTIFICATE_ISSUER; `certId` non-zero
    /// and unused; `documentHash` non-zero; `hashAlgorithm` 1, 2 or 3; `validFrom` < `validUntil` (the window may
    /// lie in the past: old paper certificates are digitised too). Emits CertificateIssued.
    /// @param certId The certificate number (证照编号), e.g. a short id packed left-aligned into bytes32.
    /// @param documentHash Hash of the certificate document.
    /// @param hashAlgorithm How `documentHash` was computed.
    /// @param holderCommitment Salted hash of the holder's identity number, computed off chain.
    /// @param certType The certificate type, e.g. business-licence.
    /// @param validFrom First second of validity (unix time).
    /// @param validUntil First second after validity (unix time).
    function issue(
        bytes32 certId,
        bytes32 documentHash,
        uint8 hashAlgorithm,
        bytes32 holderCommitment,
        bytes32 certType,
        uint64 validFrom,
        uint64 validUntil
    ) external;

    /// @notice Issues a batch of certificates as the root of a Merkle tree of their leaves (certificateLeaf).
    /// @dev Requirements: caller acts for an active department with ROLE_CERTIFICATE_ISSUER; `root` non-zero and
    /// never issued; `count` at least 1. Writes one slot whatever the size. Emits CertificateBatchIssued.
    /// @param root The tree's root.
    /// @param count How many certificates the tree holds.
    function issueBatch(bytes32 root, uint32 count) external;

    /// @notice Gives a batch certificate its own slot, so that it has a status and can be a successor.
    /// @dev Anyone may call this: the result is fixed by the issuer's anchored root. Requirements: the batch
    /// exists; the proof leads from the leaf to the root; the leaf's fields pass issue's checks. Does nothing if
    /// the certificate has a slot with this leaf's fingerprint already; reverts with
    /// CertificateRegistryLeafMismatch if its slot holds another. Emits BatchCertificateRegistered.
    /// @param root The batch root.
    /// @param leaf The certificate's leaf values.
    /// @param proof The Merkle proof of the leaf.
    function registerBatchCertificate(bytes32 root, CertificateLeaf calldata leaf, bytes32[] calldata proof)
        external;

    /// @notice Revokes a certificate for good.
    /// @dev Requirements: caller acts for the issuing department, active, with ROLE_CERTIFICATE_ISSUER; the
    /// certificate is Valid or Suspended. Emits CertificateRevoked.
    /// @param certId The certificate.
    /// @param reasonCode Why, from the issuer's catalogue (kept in the event only).
    function revoke(bytes32 certId, bytes32 reasonCode) external;

    /// @notice Suspends a Valid certificate.
    /// @dev Requirements: as revoke; the certificate is Valid. Emits CertificateSuspended.
    /// @param certId The certificate.
    /// @param reasonCode Why (kept in the event only).
    function suspend(bytes32 certId, bytes32 reasonCode) external;

    /// @notice Makes a suspended certificate Valid again.
    /// @dev Requirements: as revoke; the certificate is Suspended. Emits CertificateReinstated.
    /// @param certId The certificate.
    function reinstate(bytes32 certId) external;

    /// @notice Replaces a certificate by another the same department issued; the old one points at the new.
    /// @dev Requirements: as revoke for `oldCertId`, which is Valid or Suspended; `newCertId` differs, has a slot
    /// (register a batch certificate first), is Valid and has the same issuer. Emits CertificateSuperseded.
    /// @param oldCertId The certificate being replaced.
    /// @param newCertId Its replacement.
    function supersede(bytes32 oldCertId, bytes32 newCertId) external;

    /// @notice revoke for a batch certificate: registers it first if it has no slot yet.
    /// @dev Requirements: those of registerBatchCertificate, then those of revoke. Emits
    /// BatchCertificateRegistered on the first status change, then CertificateRevoked.
    function revokeBatched(
        bytes32 root,
        CertificateLeaf calldata leaf,
        bytes32[] calldata proof,
        bytes32 reasonCode
    ) external;

    /// @notice suspend for a batch certificate: registers it first if it has no slot yet.
    /// @dev Requirements: those of registerBatchCertificate, then those of suspend.
    function suspendBatched(
        bytes32 root,
        CertificateLeaf calldata leaf,
        bytes32[] calldata proof,
        bytes32 reasonCode
    ) external;

    /// @notice reinstate for a batch certificate (it has a slot already, since it was suspended; the leaf
    /// is checked against it).
    /// @dev Requirements: those of registerBatchCertificate, then those of reinstate.
    function reinstateBatched(bytes32 root, CertificateLeaf calldata leaf, bytes32[] calldata proof) external;

    /// @notice supersede for a batch certificate being replaced: registers it first if it has no slot yet.
    /// @dev Requirements: those of registerBatchCertificate, then those of supersede.
    function supersedeBatched(
        bytes32 root,
        CertificateLeaf calldata leaf,
        bytes32[] calldata proof,
        bytes32 newCertId
    ) external;

    // ---------------------------------------------------------------- views

    /// @notice One certificate; status None (and everything else zero but the id) if it has no slot.
    function certificateOf(bytes32 certId) external view returns (CertificateView memory);

    /// @notice Whether the certificate has a slot and these are its fields (their fingerprint matches).
    function verifyCertificate(CertificateLeaf calldata leaf) external view returns (bool);

    /// @notice Whether `proof` shows the leaf in the issued batch `root`, and no other certificate took its id.
    /// False for a root never issued.
    function verifyBatchCertificate(bytes32 root, CertificateLeaf calldata leaf, bytes32[] calldata proof)
        external
        view
        returns (bool);

    /// @notice Who issued a batch root, when, and how many certificates it holds; all zero for an unknown root.
    function batchOf(bytes32 root) external view returns (bytes32 issuerDept, uint64 issuedAt, uint32 count);

    /// @notice The batch leaf of a certificate: keccak256(bytes.concat(keccak256(abi.encode(the seven fields in
    /// CertificateLeaf order)))). Its first 20 bytes are the fingerprint kept for every certificate.
    function certificateLeaf(CertificateLeaf calldata leaf) external pure returns (bytes32);
}
