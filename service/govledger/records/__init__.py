"""Shared government records: anchoring record hashes and batches, and the proofs citizens and auditors check."""
