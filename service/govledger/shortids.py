"""Short readable identifiers (record, schema, dataset, grant, purpose ids) and their bytes32 form on chain.

Government systems already have short ids (a licence number, a catalogue code); keeping them readable on
chain, packed left-aligned into bytes32 like department codes, lets an auditor read raw chain data without
a lookup table. No "/" so that an id is always one path segment of a URL.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

SHORT_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,31}$")


def check_short_id(value: str) -> str:
    if not SHORT_ID_PATTERN.match(value):
        raise ValueError("must be 1-32 characters: letters, digits and . _ : - (starting with a letter or digit)")
    return value


def encode_short_id(value: str) -> bytes:
    """The bytes32 form, as stored on chain."""
    return pack_short_id(check_short_id(value))


def pack_short_id(value: str) -> bytes:
    """The bytes32 form of an id already checked (a validated request field, or a row stored from one)."""
    return value.encode("ascii").ljust(32, b"\0")


def short_id_hex(value: str) -> str:
    return "0x" + encode_short_id(value).hex()


def decode_short_id(value: bytes | str) -> str:
    raw = bytes.fromhex(value.removeprefix("0x")) if isinstance(value, str) else bytes(value)
    return raw.rstrip(b"\0").decode("ascii", errors="replace")


ShortId = Annotated[str, AfterValidator(check_short_id)]
