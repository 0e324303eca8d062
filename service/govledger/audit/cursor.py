"""The opaque page cursor of the history API: the (block_number, log_index) of the last event returned.

Base64url text so clients treat it as a token, not as numbers to edit. A keyset cursor rather than an
offset: the next page starts strictly after this position, so events indexed between two requests can
neither shift a page (duplicates) nor push an event behind it (skips), and a deep page costs what the
first one costs.
"""

from __future__ import annotations

import base64
import binascii

from govledger.errors import ValidationError

Position = tuple[int, int]

_PREFIX = "ev1"


def encode_cursor(position: Position) -> str:
    block_number, log_index = position
    raw = f"{_PREFIX}:{block_number}:{log_index}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> Position:
    """The position in a cursor this API handed out; anything else is refused (422 invalid_cursor)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        prefix, block_number, log_index = raw.split(":")
        position = int(block_number), int(log_index)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        position, prefix = (-1, -1), ""
    if prefix != _PREFIX or min(position) < 0:
        raise ValidationError("the cursor is not one this API handed out", code="invalid_cursor")
    return position
