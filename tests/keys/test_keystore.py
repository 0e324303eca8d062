"""The encrypted keystore: round trips, refuses wrong passphrases and edited files, hides secrets."""

import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from pydantic import SecretStr

from govledger.errors import ConflictError, GovLedgerError, KeystoreError, NotFoundError, ValidationError
from govledger.keys import KeyInfo, Keystore, LocalSigner
from govledger.keys.keystore import DEFAULT_SCRYPT_N

PASSPHRASE = "correct horse battery staple"
PRIVATE_KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
ADDRESS = Account.from_key(PRIVATE_KEY).address
FAST_SCRYPT_N = 2**10  # the default 2**15 costs ~0.1 s per key; tests only need the format right


@pytest.fixture
def keystore(tmp_path: Path) -> Keystore:
    return Keystore(tmp_path / "keys", scrypt_n=FAST_SCRYPT_N)


@pytest.fixture
def imported(keystore: Keystore) -> KeyInfo:
    return keystore.import_key("CS-MSA", PRIVATE_KEY, PASSPHRASE, label="records signer")


def edit_key_file(path: Path, **changes: Any) -> None:
    document = json.loads(path.read_text())
    document.update(changes)
    path.write_text(json.dumps(document))


def test_created_key_round_trips_through_unlock(keystore: Keystore) -> None:
    info = keystore.create_key("HEALTH", PASSPHRASE, label="certificates")
    signers = keystore.unlock_all(PASSPHRASE)
    assert list(signers) == [info.address]
    assert signers[info.address].address == info.address
    assert (info.department, info.label, info.path.name) == ("HEALTH", "certificates", f"{info.address}.json")


def test_imported_key_unlocks_to_a_signer_that_signs_for_its_address(keystore: Keystore, imported: KeyInfo) -> None:
    assert imported.address == ADDRESS
    signer = keystore.unlock_all(PASSPHRASE)[ADDRESS]
    tx = {"chainId": 1337, "nonce": 0, "gasPrice": 1, "gas": 21000, "to": ADDRESS}
    assert Account.recover_transaction(signer.sign_transaction(tx).raw) == ADDRESS


def test_secret_str_passphrases_work_like_plain_strings(keystore: Keystore) -> None:
    keystore.import_key("CS-MSA", PRIVATE_KEY, SecretStr(PASSPHRASE))
    assert list(keystore.unlock_all(PASSPHRASE)) == [ADDRESS]
    assert list(keystore.unlock_all(SecretStr(PASSPHRASE))) == [ADDRESS]


def test_file_follows_the_documented_format(imported: KeyInfo) -> None:
    document = json.loads(imported.path.read_text())
    assert document["format"] == "govledger-keystore-1"
    assert (document["address"], document["department"], document["label"]) == (
        ADDRESS,
        "CS-MSA",
        "records signer",
    )
    assert document["kdf"] | {"salt": None} == {
        "name": "scrypt",
        "n": FAST_SCRYPT_N,
        "r": 8,
        "p": 1,
        "salt": None,
    }
    assert len(bytes.fromhex(document["kdf"]["salt"])) == 32
    assert document["cipher"]["name"] == "aes-256-gcm"
    assert len(bytes.fromhex(document["cipher"]["nonce"])) == 12
    assert len(bytes.fromhex(document["ciphertext"])) == 32 + 16  # key plus GCM tag
    assert PRIVATE_KEY.hex() not in imported.path.read_text()


def test_default_scrypt_cost_is_two_to_the_fifteen(tmp_path: Path) -> None:
    info = Keystore(tmp_path).import_key("CS-MSA", PRIVATE_KEY, PASSPHRASE)
    assert DEFAULT_SCRYPT_N == 2**15
    assert json.loads(info.path.read_text())["kdf"]["n"] == 2**15


def test_list_keys_reads_headers_without_a_passphrase(keystore: Keystore, imported: KeyInfo) -> None:
    other = keystore.create_key("FIN", "another passphrase")
    assert keystore.list_keys() == [imported, other]  # sorted by department


def test_missing_directory_holds_no_keys(tmp_path: Path) -> None:
    keystore = Keystore(tmp_path / "nowhere")
    assert keystore.list_keys() == []
    assert keystore.unlock_all(PASSPHRASE) == {}


def test_importing_the_same_key_twice_is_refused(keystore: Keystore, imported: KeyInfo) -> None:
    with pytest.raises(ConflictError):
        keystore.import_key("FIN", PRIVATE_KEY, PASSPHRASE)
    assert len(keystore.list_keys()) == 1


def test_wrong_passphrase_is_refused_naming_the_file(keystore: Keystore, imported: KeyInfo) -> None:
    with pytest.raises(KeystoreError) as caught:
        keystore.unlock_all("hunter2-not-it")
    assert imported.path.name in str(caught.value)
    assert "hunter2-not-it" not in str(caught.value)


def test_tampered_ciphertext_is_refused(keystore: Keystore, imported: KeyInfo) -> None:
    ciphertext = bytearray(bytes.fromhex(json.loads(imported.path.read_text())["ciphertext"]))
    ciphertext[0] ^= 1
    edit_key_file(imported.path, ciphertext=ciphertext.hex())
    with pytest.raises(KeystoreError, match=imported.path.name):
        keystore.unlock_all(PASSPHRASE)


@pytest.mark.parametrize(
    "changes",
    [{"department": "FIN"}, {"label": "something else"}, {"created_at": "2020-01-01T00:00:00+00:00"}],
)
def test_edited_header_is_refused(keystore: Keystore, imported: KeyInfo, changes: dict[str, str]) -> None:
    edit_key_file(imported.path, **changes)
    assert keystore.list_keys()[0] != imported  # the header is read as edited ...
    with pytest.raises(KeystoreError, match=imported.path.name):  # ... but the edit cannot be unlocked
        keystore.unlock_all(PASSPHRASE)


def test_ciphertext_swapped_from_another_key_file_is_refused(keystore: Keystore, imported: KeyInfo) -> None:
    other = keystore.create_key("CS-MSA", PASSPHRASE, label="records signer")
    other_document = json.loads(other.path.read_text())
    edit_key_file(
        imported.path,
        kdf=other_document["kdf"],
        cipher=other_document["cipher"],
        ciphertext=other_document["ciphertext"],
    )
    with pytest.raises(KeystoreError):
        keystore.unlock_all(PASSPHRASE)


def test_renamed_key_file_is_refused(keystore: Keystore, imported: KeyInfo) -> None:
    imposter = imported.path.with_name(f"{Account.create().address}.json")
    imported.path.rename(imposter)
    with pytest.raises(KeystoreError, match=imposter.name):
        keystore.unlock_all(PASSPHRASE)


def test_unreadable_file_is_reported_by_name(keystore: Keystore, imported: KeyInfo) -> None:
    imported.path.write_text("{not json")
    with pytest.raises(KeystoreError, match=imported.path.name):
        keystore.list_keys()


def test_file_demanding_huge_scrypt_cost_is_refused_before_deriving(keystore: Keystore, imported: KeyInfo) -> None:
    document = json.loads(imported.path.read_text())
    edit_key_file(imported.path, kdf={**document["kdf"], "n": 2**30})
    with pytest.raises(KeystoreError, match="out of range"):
        keystore.unlock_all(PASSPHRASE)


def test_key_files_are_0600_in_a_0700_directory(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    directory.mkdir(mode=0o755)
    previous_umask = os.umask(0o022)
    try:
        info = Keystore(directory, scrypt_n=FAST_SCRYPT_N).import_key("CS-MSA", PRIVATE_KEY, PASSPHRASE)
    finally:
        os.umask(previous_umask)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(info.path.stat().st_mode) == 0o600
    assert [p.name for p in directory.iterdir()] == [info.path.name]  # no temporary file left behind


def test_removed_key_is_gone(keystore: Keystore, imported: KeyInfo) -> None:
    keystore.remove_key(ADDRESS.lower())
    assert keystore.list_keys() == []
    with pytest.raises(NotFoundError):
        keystore.remove_key(ADDRESS)


@pytest.mark.parametrize("department", ["", "cs-msa", "CS_MSA", "CS--MSA", "X" * 33])
def test_malformed_department_codes_are_refused(keystore: Keystore, department: str) -> None:
    with pytest.raises(ValidationError):
        keystore.create_key(department, PASSPHRASE)


def test_empty_passphrase_is_refused(keystore: Keystore) -> None:
    with pytest.raises(ValidationError):
        keystore.create_key("CS-MSA", "")


def test_secrets_never_appear_in_messages_reprs_or_logs(keystore: Keystore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = (PASSPHRASE, PRIVATE_KEY.hex())
    seen: list[str] = []
    info = keystore.import_key("CS-MSA", PRIVATE_KEY, PASSPHRASE)
    signers = keystore.unlock_all(SecretStr(PASSPHRASE))
    seen += [repr(keystore), repr(info), str(info), repr(signers), str(signers)]
    for attempt in (
        lambda: keystore.unlock_all(PASSPHRASE + "!"),
        lambda: keystore.import_key("CS-MSA", PRIVATE_KEY, PASSPHRASE),
        lambda: keystore.import_key("bad dept", PRIVATE_KEY, PASSPHRASE),
        lambda: LocalSigner(PRIVATE_KEY[:31]),
    ):
        with pytest.raises(GovLedgerError) as caught:
            attempt()
        seen += [str(caught.value), repr(caught.value), str(caught.value.details)]
    keystore.remove_key(info.address)
    seen += [record.getMessage() for record in caplog.records]
    assert caplog.records, "the keystore should log what it does"
    for text in seen:
        for secret in secrets:
            assert secret not in text.lower() and secret not in text
