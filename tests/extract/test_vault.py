"""Encryption at rest: a sealed package decrypts only with its master key, reads can seek,
any tampering (a changed byte, reordered or dropped chunks, a truncated file) is detected,
and destroying the package key makes the package unrecoverable."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from datashare.extract import vault

MASTER = bytes(range(32))
OTHER = bytes(range(1, 33))


def _plain(tmp_path: Path) -> Path:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "big.bin").write_bytes(os.urandom(3 * vault.CHUNK_BYTES + 12345))
    (folder / "exact.bin").write_bytes(os.urandom(2 * vault.CHUNK_BYTES))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "README.txt").write_text("hello\n")
    sums = [
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}" for p in sorted(folder.iterdir())
    ]
    (folder / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    return folder


def test_round_trip_and_checksums(tmp_path: Path) -> None:
    plain = _plain(tmp_path)
    sealed = vault.seal_package(plain, tmp_path / "store", MASTER, "pkg-1")
    assert sealed.files["big.bin"] == (plain / "big.bin").stat().st_size
    # Nothing readable at rest: no plaintext file appears in the store.
    for p in (tmp_path / "store").rglob("*"):
        if p.is_file():
            assert b"hello" not in p.read_bytes()
            assert p.stat().st_mode & 0o077 == 0
    out = tmp_path / "out"
    vault.decrypt_package(tmp_path / "store", "pkg-1", MASTER, out)
    for p in plain.iterdir():
        assert (out / p.name).read_bytes() == p.read_bytes()
    subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=out, check=True)


def test_reads_seek_without_decrypting_the_whole_file(tmp_path: Path) -> None:
    plain = _plain(tmp_path)
    vault.seal_package(plain, tmp_path / "store", MASTER, "p")
    data = (plain / "big.bin").read_bytes()
    key = vault.package_key(tmp_path / "store", "p", MASTER)
    with vault.open_file(tmp_path / "store", "p", "big.bin", key) as r:
        assert r.size == len(data)
        for offset, length in [(0, 10), (vault.CHUNK_BYTES - 5, 10), (len(data) - 3, 100),
                               (2 * vault.CHUNK_BYTES + 7, vault.CHUNK_BYTES + 3), (len(data), 5)]:  # fmt: skip
            assert r.read(offset, length) == data[offset : offset + length]


def _encrypted(tmp_path: Path) -> tuple[Path, bytes]:
    vault.seal_package(_plain(tmp_path), tmp_path / "store", MASTER, "p")
    return tmp_path / "store" / "p" / "data" / "big.bin", vault.package_key(
        tmp_path / "store", "p", MASTER
    )


def _read_all(path: Path, key: bytes, name: str = "big.bin") -> bytes:
    with vault.EncryptedReader(path, key, name) as r:
        return r.read(0, r.size)


def test_a_changed_byte_is_detected(tmp_path: Path) -> None:
    path, key = _encrypted(tmp_path)
    blob = bytearray(path.read_bytes())
    blob[vault.HEADER.size + vault.CHUNK_BYTES + 100] ^= 1
    path.write_bytes(bytes(blob))
    with pytest.raises(vault.VaultError, match="chunk 1 fails authentication"):
        _read_all(path, key)


def test_reordered_chunks_are_detected(tmp_path: Path) -> None:
    path, key = _encrypted(tmp_path)
    blob = path.read_bytes()
    stride = vault.NONCE_BYTES + vault.CHUNK_BYTES + vault.TAG_BYTES
    h = vault.HEADER.size
    first, second = blob[h : h + stride], blob[h + stride : h + 2 * stride]
    path.write_bytes(blob[:h] + second + first + blob[h + 2 * stride :])
    with pytest.raises(vault.VaultError, match="fails authentication"):
        _read_all(path, key)


def test_truncation_is_detected_even_at_a_chunk_boundary(tmp_path: Path) -> None:
    path, key = _encrypted(tmp_path)
    blob = path.read_bytes()
    stride = vault.NONCE_BYTES + vault.CHUNK_BYTES + vault.TAG_BYTES
    path.write_bytes(blob[: vault.HEADER.size + 2 * stride])
    with pytest.raises(vault.VaultError, match="truncated"):
        _read_all(path, key)
    # Forging the header's size to match fails too: the header is authenticated in every
    # chunk, and the last chunk kept is not flagged final.
    magic, file_id, chunk, _size = vault.HEADER.unpack(blob[: vault.HEADER.size])
    forged = vault.HEADER.pack(magic, file_id, chunk, 2 * vault.CHUNK_BYTES)
    path.write_bytes(forged + blob[vault.HEADER.size : vault.HEADER.size + 2 * stride])
    with pytest.raises(vault.VaultError, match="fails authentication"):
        _read_all(path, key)


def test_a_file_renamed_in_the_store_does_not_decrypt(tmp_path: Path) -> None:
    path, key = _encrypted(tmp_path)
    with pytest.raises(vault.VaultError):
        _read_all(path, key, name="exact.bin")


def test_wrong_master_key_is_refused(tmp_path: Path) -> None:
    _encrypted(tmp_path)
    with pytest.raises(vault.VaultError, match="cannot be unwrapped"):
        vault.package_key(tmp_path / "store", "p", OTHER)
    # A wrapped key copied to another package does not unwrap there either.
    vault.seal_package(tmp_path / "plain", tmp_path / "store", MASTER, "q")
    (tmp_path / "store" / "q" / "package.key").write_bytes(
        (tmp_path / "store" / "p" / "package.key").read_bytes()
    )
    with pytest.raises(vault.VaultError):
        vault.package_key(tmp_path / "store", "q", MASTER)


def test_destroying_the_key_crypto_erases_the_package(tmp_path: Path) -> None:
    path, _key = _encrypted(tmp_path)
    ciphertext = path.read_bytes()
    record = vault.destroy_package_key(tmp_path / "store", "p", remove_ciphertext=False)
    assert record.key_destroyed and record.ciphertext_files == 5
    assert record.method.startswith("cryptographic erase")
    # The ciphertext is still there, and useless: the key is gone.
    assert path.read_bytes() == ciphertext
    with pytest.raises(vault.PackageErased):
        vault.package_key(tmp_path / "store", "p", MASTER)
    again = vault.destroy_package_key(tmp_path / "store", "p")
    assert not again.key_destroyed and again.ciphertext_removed
    assert not (tmp_path / "store" / "p").exists()


def test_master_key_rotation(tmp_path: Path) -> None:
    _encrypted(tmp_path)
    vault.rewrap_package_key(tmp_path / "store", "p", MASTER, OTHER)
    with pytest.raises(vault.VaultError):
        vault.package_key(tmp_path / "store", "p", MASTER)
    vault.decrypt_package(tmp_path / "store", "p", OTHER, tmp_path / "out")


def test_master_key_from_file_or_environment(tmp_path: Path) -> None:
    (tmp_path / "k").write_text(MASTER.hex() + "\n")
    assert vault.read_master_key(tmp_path / "k") == MASTER
    assert vault.read_master_key(env={"DATASHARE_MASTER_KEY": MASTER.hex()}) == MASTER
    with pytest.raises(vault.VaultError, match="DATASHARE_MASTER_KEY"):
        vault.read_master_key(env={})
    with pytest.raises(vault.VaultError, match="not a 256-bit key"):
        vault.read_master_key(env={"DATASHARE_MASTER_KEY": "abc"})


def test_sealing_is_atomic_and_refuses_symlinks(tmp_path: Path) -> None:
    plain = _plain(tmp_path)
    (plain / "link").symlink_to("/etc/passwd")
    with pytest.raises(vault.VaultError, match="regular files only"):
        vault.seal_package(plain, tmp_path / "store", MASTER, "p")
    assert list((tmp_path / "store").iterdir()) == []
    with pytest.raises(vault.VaultError, match="package id"):
        vault.seal_package(plain, tmp_path / "store", MASTER, "../escape")
