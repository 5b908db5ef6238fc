"""Encryption at rest for delivered packages, and their cryptographic erase.

A package is sealed into a store folder ``STORE/<package_id>/``:

* ``package.key``: the package's 256-bit data key, wrapped (AES-256-GCM) by the agency's
  master key, with the package id as authenticated data (a wrapped key moved to another
  package does not unwrap);
* ``data/<name>``: each package file, encrypted with its own key, derived from the data key
  by HKDF-SHA256 with the file's random 16-byte id as salt and its name as info.

An encrypted file is a 40-byte header (``DSENC1\\0\\0``, file id, chunk size, plaintext size)
then fixed-size chunks, each ``nonce (12) || AES-256-GCM ciphertext || tag (16)``. Each
chunk's associated data is the header, the chunk's index and a final-chunk flag, so a chunk
moved, repeated, dropped, or a file cut at a chunk boundary, fails to decrypt; and any chunk
can be read alone, so a reader seeks without decrypting what comes before (the SFTP server
decrypts on the fly, one chunk at a time).

Destroying ``package.key`` (``destroy_package_key``) is a cryptographic erase (NIST SP
800-88 Rev. 1, purge by cryptographic erase): without the data key no chunk can be
decrypted, whatever copies of the ciphertext remain (backups, replicas, SSD remapped
blocks). The key file is overwritten and fsynced before it is unlinked; a copy of the
wrapped key that escaped (a backup) is still useless once the master key it was wrapped
with is rotated away (``rewrap_package_key`` then destroy the old master key).

Pure: no Django. The master key comes from a key file (64 hexadecimal digits, as
``datashare extract --new-key`` writes) or an environment variable holding the same.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import struct
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import ExtractError

KEY_BYTES = 32
MAGIC = b"DSENC1\0\0"
HEADER = struct.Struct("<8s16sIQ")  # magic, file id, chunk size, plaintext size
NONCE_BYTES = 12
TAG_BYTES = 16
CHUNK_BYTES = 128 * 1024  # plaintext per chunk: one chunk is the unit of memory per reader
WRAP_MAGIC = b"DSKW1"
KEY_FILE = "package.key"
DATA_DIR = "data"
MASTER_KEY_ENV = "DATASHARE_MASTER_KEY"
ERASE_METHOD = "cryptographic erase (NIST SP 800-88 Rev. 1, purge)"


class VaultError(ExtractError):
    """A package that cannot be decrypted: wrong key, tampered, truncated or erased."""


class PackageErased(VaultError):
    """The package's data key was destroyed: its content is unrecoverable."""


# --- keys -------------------------------------------------------------------------------


def _parse_hex_key(text: str, what: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise VaultError(f"{what} is not a 256-bit key (64 hexadecimal digits)")
    return key


def read_master_key(path: Path | None = None, env: Mapping[str, str] | None = None) -> bytes:
    """The master key from ``path`` if given, else from ``$DATASHARE_MASTER_KEY``."""
    if path is not None:
        try:
            return _parse_hex_key(Path(path).read_text(encoding="ascii"), f"master key file {path}")
        except (OSError, UnicodeDecodeError):
            raise VaultError(f"master key file {path} cannot be read") from None
    value = (os.environ if env is None else env).get(MASTER_KEY_ENV, "")
    if not value:
        raise VaultError(f"no master key: set {MASTER_KEY_ENV} or give a master key file")
    return _parse_hex_key(value, MASTER_KEY_ENV)


def new_data_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def _wrap_aad(package_id: str) -> bytes:
    return b"datashare-package-key:" + package_id.encode("utf-8")


def wrap_key(master: bytes, data_key: bytes, package_id: str) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return WRAP_MAGIC + nonce + AESGCM(master).encrypt(nonce, data_key, _wrap_aad(package_id))


def unwrap_key(master: bytes, wrapped: bytes, package_id: str) -> bytes:
    if not wrapped.startswith(WRAP_MAGIC):
        raise VaultError("not a wrapped datashare package key")
    nonce = wrapped[len(WRAP_MAGIC) : len(WRAP_MAGIC) + NONCE_BYTES]
    try:
        key = AESGCM(master).decrypt(
            nonce, wrapped[len(WRAP_MAGIC) + NONCE_BYTES :], _wrap_aad(package_id)
        )
    except InvalidTag:
        raise VaultError(
            f"the key of package {package_id} cannot be unwrapped with this master key"
        ) from None
    return key


def _file_key(data_key: bytes, file_id: bytes, name: str) -> AESGCM:
    derived = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=file_id,
        info=b"datashare-package-file:" + name.encode("utf-8"),
    ).derive(data_key)
    return AESGCM(derived)


def _chunk_aad(header: bytes, index: int, final: bool) -> bytes:
    return header + struct.pack("<QB", index, 1 if final else 0)


# --- one file ---------------------------------------------------------------------------


def encrypt_file(
    src: Path, dest: Path, data_key: bytes, name: str, chunk: int = CHUNK_BYTES
) -> int:
    """Encrypt ``src`` into ``dest`` (streamed, one chunk in memory); returns the plaintext size."""
    size = Path(src).stat().st_size
    file_id = secrets.token_bytes(16)
    header = HEADER.pack(MAGIC, file_id, chunk, size)
    aead = _file_key(data_key, file_id, name)
    count = max(1, -(-size // chunk))  # an empty file is one empty final chunk
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(src, "rb") as fin, os.fdopen(fd, "wb") as fout:
        fout.write(header)
        for index in range(count):
            plain = fin.read(chunk)
            nonce = secrets.token_bytes(NONCE_BYTES)
            aad = _chunk_aad(header, index, index == count - 1)
            fout.write(nonce + aead.encrypt(nonce, plain, aad))
        fout.flush()
        os.fsync(fout.fileno())
    return size


class EncryptedReader:
    """Random access to one encrypted file: ``read(offset, length)`` decrypts only the chunks
    it touches, keeping the last one (sequential reads of any size decrypt each chunk once).
    Memory: one chunk, whatever the caller asks for at a time beyond that is its own."""

    def __init__(self, path: Path, data_key: bytes, name: str) -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        try:
            header = os.pread(self._fd, HEADER.size, 0)
            if len(header) != HEADER.size:
                raise VaultError(f"{name}: not an encrypted package file")
            magic, file_id, chunk, size = HEADER.unpack(header)
            if magic != MAGIC or chunk <= 0 or chunk > 16 << 20:
                raise VaultError(f"{name}: not an encrypted package file")
            self._header = header
            self.chunk = int(chunk)
            self.size = int(size)
            self.name = name
            self._aead = _file_key(data_key, file_id, name)
            self._count = max(1, -(-self.size // self.chunk))
            self._cached: tuple[int, bytes] | None = None
            expected = HEADER.size + self._count * (NONCE_BYTES + TAG_BYTES) + self.size
            if os.fstat(self._fd).st_size != expected:
                raise VaultError(f"{name}: truncated or extended (tampered) encrypted file")
        except BaseException:
            os.close(self._fd)
            raise

    def _chunk(self, index: int) -> bytes:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        stride = NONCE_BYTES + self.chunk + TAG_BYTES
        final = index == self._count - 1
        plain_len = self.size - index * self.chunk if final else self.chunk
        blob = memoryview(
            os.pread(self._fd, NONCE_BYTES + plain_len + TAG_BYTES, HEADER.size + index * stride)
        )  # a view: slicing the ciphertext off the nonce copies nothing
        try:
            plain = self._aead.decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], _chunk_aad(self._header, index, final)
            )
        except InvalidTag:
            raise VaultError(
                f"{self.name}: chunk {index} fails authentication (wrong key, tampered, "
                "reordered or truncated)"
            ) from None
        self._cached = (index, plain)
        return plain

    def read(self, offset: int, length: int) -> bytes:
        # Views of the decrypted chunks, copied once by the join (the SFTP server's reads of
        # 255 KiB span two or three chunks; slicing then joining copied every byte twice).
        return b"".join(self.read_views(offset, length))

    def read_views(self, offset: int, length: int) -> list[memoryview]:
        """``read`` as read-only views of the decrypted chunks, copying nothing (the SFTP
        server cuts them into SSH packets); an empty list at or past the end."""
        if offset < 0 or length < 0:
            raise ValueError("negative offset or length")
        end = min(self.size, offset + length)
        parts: list[memoryview] = []
        while offset < end:
            index, start = divmod(offset, self.chunk)
            piece = memoryview(self._chunk(index))[start : start + (end - offset)]
            parts.append(piece)
            offset += len(piece)
        return parts

    def __iter__(self) -> Iterator[bytes]:
        for index in range(self._count):
            yield self._chunk(index)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._cached = None

    def __enter__(self) -> EncryptedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- packages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SealedPackage:
    package_id: str
    path: Path  # STORE/<package_id>
    files: dict[str, int]  # name -> plaintext bytes


def _check_id(package_id: str) -> None:
    if not package_id or not all(c.isalnum() or c in "-_" for c in package_id):
        raise VaultError(f"package id {package_id!r} must be letters, digits, '-' or '_'")


def package_path(store: Path, package_id: str) -> Path:
    _check_id(package_id)
    return Path(store) / package_id


def seal_package(plain: Path, store: Path, master: bytes, package_id: str) -> SealedPackage:
    """Encrypt every file of the folder ``plain`` into ``STORE/<package_id>`` with a new data
    key, atomically: built in a temporary folder in the store and renamed into place, so a
    package in the store is whole or absent. Refuses to replace an existing package."""
    dest = package_path(store, package_id)
    if dest.exists():
        raise VaultError(f"package {package_id} is already sealed")
    Path(store).mkdir(parents=True, exist_ok=True, mode=0o700)
    data_key = new_data_key()
    tmp = Path(tempfile.mkdtemp(prefix=f".{package_id}.seal-", dir=store))
    try:
        (tmp / DATA_DIR).mkdir(mode=0o700)
        files: dict[str, int] = {}
        for src in sorted(Path(plain).iterdir()):
            if src.is_symlink() or not src.is_file():
                raise VaultError(f"{src.name}: a package holds regular files only")
            files[src.name] = encrypt_file(src, tmp / DATA_DIR / src.name, data_key, src.name)
        _write_key_file(tmp / KEY_FILE, wrap_key(master, data_key, package_id))
        os.rename(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SealedPackage(package_id, dest, files)


def clean_stale_seals(store: Path, package_id: str) -> None:
    """Remove half-sealed folders of ``package_id`` a killed process left in the store."""
    _check_id(package_id)
    if Path(store).is_dir():
        for p in Path(store).glob(f".{package_id}.seal-*"):
            shutil.rmtree(p, ignore_errors=True)


def _write_key_file(path: Path, wrapped: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(wrapped)
        fh.flush()
        os.fsync(fh.fileno())


def package_key(store: Path, package_id: str, master: bytes) -> bytes:
    """The package's data key (raises ``PackageErased`` once it was destroyed)."""
    path = package_path(store, package_id) / KEY_FILE
    try:
        wrapped = path.read_bytes()
    except FileNotFoundError:
        raise PackageErased(f"package {package_id} was erased (its key is destroyed)") from None
    return unwrap_key(master, wrapped, package_id)


def package_files(store: Path, package_id: str) -> list[str]:
    data = package_path(store, package_id) / DATA_DIR
    if not data.is_dir():
        return []
    return sorted(p.name for p in data.iterdir() if p.is_file() and not p.is_symlink())


def open_file(store: Path, package_id: str, name: str, data_key: bytes) -> EncryptedReader:
    if name not in package_files(store, package_id):
        raise VaultError(f"package {package_id} has no file {name!r}")
    return EncryptedReader(package_path(store, package_id) / DATA_DIR / name, data_key, name)


def decrypt_package(store: Path, package_id: str, master: bytes, dest: Path) -> None:
    """Decrypt a whole package into the new folder ``dest`` (agency use; tests)."""
    key = package_key(store, package_id, master)
    Path(dest).mkdir(mode=0o700)
    for name in package_files(store, package_id):
        with (
            open_file(store, package_id, name, key) as reader,
            (Path(dest) / name).open("xb") as out,
        ):
            for chunk in reader:
                out.write(chunk)


def rewrap_package_key(store: Path, package_id: str, old_master: bytes, new_master: bytes) -> None:
    """Master key rotation: the package's data key wrapped again under ``new_master``."""
    key = package_key(store, package_id, old_master)
    path = package_path(store, package_id) / KEY_FILE
    tmp = path.with_name(f".{KEY_FILE}.{secrets.token_hex(4)}")
    _write_key_file(tmp, wrap_key(new_master, key, package_id))
    os.replace(tmp, path)


@dataclass(frozen=True)
class ErasureRecord:
    """What ``destroy_package_key`` did, for the destruction certificate and the audit row."""

    package_id: str
    method: str
    key_destroyed: bool  # False: it was already gone (erasing twice is not an error)
    wrapped_key_sha256: str  # identifies which key was destroyed, reveals nothing of it
    ciphertext_files: int
    ciphertext_bytes: int
    ciphertext_removed: bool


def destroy_package_key(
    store: Path, package_id: str, *, remove_ciphertext: bool = True
) -> ErasureRecord:
    """Crypto-erase a package: overwrite its wrapped data key with random bytes, fsync, unlink
    and fsync the folder; then (by default) delete the now-undecryptable ciphertext to free
    the space. Idempotent: a second call reports ``key_destroyed=False``."""
    folder = package_path(store, package_id)
    key_path = folder / KEY_FILE
    digest = ""
    destroyed = False
    if key_path.is_file() and not key_path.is_symlink():
        wrapped = key_path.read_bytes()
        digest = hashlib.sha256(wrapped).hexdigest()
        fd = os.open(key_path, os.O_WRONLY)
        try:
            os.pwrite(fd, secrets.token_bytes(len(wrapped)), 0)
            os.fsync(fd)
        finally:
            os.close(fd)
        key_path.unlink()
        _fsync_dir(folder)
        destroyed = True
    names = package_files(store, package_id)
    total = sum((folder / DATA_DIR / n).stat().st_size for n in names)
    if remove_ciphertext and folder.is_dir():
        shutil.rmtree(folder)
        _fsync_dir(Path(store))
    return ErasureRecord(
        package_id=package_id,
        method=ERASE_METHOD,
        key_destroyed=destroyed,
        wrapped_key_sha256=digest,
        ciphertext_files=len(names),
        ciphertext_bytes=total,
        ciphertext_removed=remove_ciphertext,
    )


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
