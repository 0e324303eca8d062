// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title MerkleProof
/// @notice Checks that a leaf belongs to a Merkle tree whose internal nodes hash their two children in sorted
/// order: node = keccak256(min(a, b) ++ max(a, b)). Sorting makes a proof a plain list of sibling hashes, with
/// no left/right flags, and is the convention of OpenZeppelin's MerkleProof and StandardMerkleTree, so trees
/// built by those tools (and by govledger's Python Merkle module) verify here.
library MerkleProof {
    /// @notice Whether `proof` leads from `leaf` to `root`.
    function verify(bytes32[] calldata proof, bytes32 root, bytes32 leaf) internal pure returns (bool) {
        return rootFrom(proof, leaf) == root;
    }

    /// @notice The root reached by hashing `leaf` with each sibling of `proof` in turn.
    function rootFrom(bytes32[] calldata proof, bytes32 leaf) internal pure returns (bytes32 node) {
        node = leaf;
        uint256 length = proof.length;
        for (uint256 i = 0; i < length; ++i) {
            node = hashPair(node, proof[i]);
        }
    }

    /// @notice The parent of two nodes: the hash of the smaller followed by the larger.
    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? _hashConcat(a, b) : _hashConcat(b, a);
    }

    /// @dev keccak256(abi.encodePacked(left, right)) in the scratch space, without allocating memory: this
    /// runs once per proof level.
    function _hashConcat(bytes32 left, bytes32 right) private pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            mstore(0x00, left)
            mstore(0x20, right)
            digest := keccak256(0x00, 0x40)
        }
    }
}
