"""Content digests: standard test vectors, streaming equals one-shot, algorithm codes and hex parsing."""

from __future__ import annotations

import hashlib
import io
import os
import time

import pytest

from govledger.errors import ValidationError
from govledger.hashing import (
    _HASHERS,
    HashAlgorithm,
    _CryptographyHasher,
    digest,
    digest_stream,
    hash_hex,
    keccak256,
    parse_hash_hex,
)

# GB/T 32905-2016, appendix A: the two examples of the standard.
SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
SM3_ABCD_X16 = "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


def test_sm3_matches_the_national_standard_vectors():
    assert digest("sm3", b"abc").hex() == SM3_ABC
    assert digest(HashAlgorithm.SM3, b"abcd" * 16).hex() == SM3_ABCD_X16


def test_sha256_matches_fips_180_vector():
    assert digest("sha256", b"abc").hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_keccak256_is_ethereums_not_nist_sha3():
    empty = "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert digest("keccak256", b"").hex() == empty
    assert keccak256(b"").hex() == empty
    assert hashlib.sha3_256(b"").hexdigest() != empty


def test_algorithm_codes_are_the_on_chain_codes():
    assert [(a.label, int(a)) for a in HashAlgorithm] == [("sha256", 1), ("keccak256", 2), ("sm3", 3)]
    assert HashAlgorithm.from_name("SM3") is HashAlgorithm.SM3
    assert HashAlgorithm.from_code(2) is HashAlgorithm.KECCAK256
    assert digest(3, b"abc") == digest("sm3", b"abc")


@pytest.mark.parametrize("name", ["md5", "sha3", ""])
def test_unknown_algorithm_names_are_refused(name: str):
    with pytest.raises(ValidationError) as info:
        digest(name, b"abc")
    assert info.value.code == "invalid_hash_algorithm"


def test_unknown_algorithm_codes_are_refused():
    with pytest.raises(ValidationError) as info:
        HashAlgorithm.from_code(0)
    assert info.value.code == "invalid_hash_algorithm"


def test_text_instead_of_bytes_is_refused():
    with pytest.raises(ValidationError):
        digest("sm3", "abc")  # type: ignore[arg-type]


@pytest.mark.parametrize("algorithm", list(HashAlgorithm))
@pytest.mark.parametrize("chunk_size", [1, 63, 64, 65, 4096])
def test_streaming_gives_the_one_shot_digest_for_any_chunk_size(algorithm: HashAlgorithm, chunk_size: int):
    data = os.urandom(10_000)
    assert digest_stream(algorithm, io.BytesIO(data), chunk_size) == digest(algorithm, data)


def test_streaming_reads_from_the_current_position_of_a_real_file(tmp_path):
    path = tmp_path / "document.pdf"
    data = os.urandom(3 * (1 << 20) + 17)
    path.write_bytes(data)
    with path.open("rb") as stream:
        assert digest_stream("sm3", stream) == digest("sm3", data)


def test_streaming_a_text_file_is_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("abc")
    with path.open("r") as stream, pytest.raises(ValidationError):
        digest_stream("sha256", stream)  # type: ignore[arg-type]


def test_sm3_is_the_native_implementation():
    """SM3 comes from OpenSSL (through cryptography), not from Python code: a 32 MB file hashes in well under a
    second. Speed itself is the benchmark's business; the rate is printed for the record."""
    assert isinstance(_HASHERS[HashAlgorithm.SM3](), _CryptographyHasher)
    data = os.urandom(32 << 20)
    started = time.perf_counter()
    digest("sm3", data)
    print(f"sm3 {32 / (time.perf_counter() - started):.0f} MB/s")


@pytest.mark.parametrize("value", ["0x" + "ab" * 32, "AB" * 32, "0x" + "aB" * 32])
def test_hash_hex_with_or_without_prefix_parses(value: str):
    assert parse_hash_hex(value) == bytes.fromhex("ab" * 32)


@pytest.mark.parametrize(
    "value",
    [
        "0x" + "ab" * 31, "ab" * 33, "0x" + "zz" * 32, "0X" + "ab" * 32, " " + "ab" * 32, "", None, 12, b"\xab" * 32,
        "ab" * 30 + " ab ", "ab " * 21 + "a", "0x0x" + "ab" * 31, "ab" * 31 + "\uff11\uff12",
    ],
)
def test_anything_but_64_hex_digits_is_an_invalid_hash(value: object):
    with pytest.raises(ValidationError) as info:
        parse_hash_hex(value)
    assert info.value.code == "invalid_hash"


def test_hash_hex_writes_lower_case_with_prefix():
    assert hash_hex(bytes.fromhex("AB" * 32)) == "0x" + "ab" * 32
    with pytest.raises(ValidationError):
        hash_hex(b"\x00" * 31)
