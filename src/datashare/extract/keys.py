"""The agency's crosswalk key and the encrypted crosswalk file.

Key file: one line of 64 hexadecimal digits (a 256-bit AES key), created with
``datashare extract --new-key KEYFILE`` (mode 0600). Destroying the key destroys the link
between research IDs and students.

Encrypted crosswalk: ``DSXW1`` + 12-byte random nonce + AES-256-GCM ciphertext of a Parquet
table (student_key, rid). The agreement number is authenticated data, so a crosswalk only
decrypts for the agreement it was made for: an amendment can reuse its RIDs, another
agreement cannot link to them.
"""

from __future__ import annotations

import io
import os
import secrets
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import ExtractError

MAGIC = b"DSXW1"
KEY_BYTES = 32


def new_key(path: Path) -> None:
    """Write a fresh random key; refuse to overwrite one (that would orphan its crosswalks)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ExtractError(f"key file {path} already exists; refusing to overwrite it") from None
    except OSError as exc:
        raise ExtractError(f"cannot create key file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_bytes(KEY_BYTES).hex() + "\n")


def read_key(path: Path | None) -> bytes:
    if path is None:
        raise ExtractError("a key file is required (--key-file; make one with --new-key)")
    try:
        text = Path(path).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise ExtractError(f"key file {path} does not exist") from None
    except (OSError, UnicodeDecodeError):
        raise ExtractError(f"key file {path} cannot be read") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise ExtractError(f"key file {path} is not a 256-bit key (64 hexadecimal digits)")
    return key


def _aad(agreement: str) -> bytes:
    return b"datashare-crosswalk:" + agreement.encode("utf-8")


def encrypt_crosswalk(table: pa.Table, key: bytes, agreement: str) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    nonce = secrets.token_bytes(12)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, buf.getvalue(), _aad(agreement))


def decrypt_crosswalk(path: Path, key: bytes, agreement: str) -> pa.Table:
    try:
        blob = Path(path).read_bytes()
    except OSError:
        raise ExtractError(f"crosswalk {path} cannot be read") from None
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 12 + 16:
        raise ExtractError(f"{path} is not an encrypted datashare crosswalk")
    nonce = blob[len(MAGIC) : len(MAGIC) + 12]
    try:
        plain = AESGCM(key).decrypt(nonce, blob[len(MAGIC) + 12 :], _aad(agreement))
    except InvalidTag:
        raise ExtractError(
            f"crosswalk cannot be decrypted with this key (or it belongs to another agreement than {agreement})"
        ) from None
    return pq.read_table(io.BytesIO(plain))


def write_private(path: Path, data: bytes) -> None:
    """Write atomically with mode 0600 (temp file in the same folder, then rename)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
