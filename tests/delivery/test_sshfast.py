"""The delivery server's faster SSH packet encryption is asyncssh's, byte for byte: the same
keys, IVs and sequence numbers give the same wire bytes, each side decrypts the other's
packets, and a tampered packet is refused. (Real OpenSSH clients downloading through them:
test_sftp_server.py.)"""

from __future__ import annotations

import os

import pytest
from asyncssh import encryption as ssh_encryption
from asyncssh.crypto import get_cipher_params

from datashare.delivery import sshfast

ALGS = {
    b"aes128-gcm@openssh.com": "aes128-gcm",
    b"aes256-gcm@openssh.com": "aes256-gcm",
    b"chacha20-poly1305@openssh.com": "chacha20-poly1305",
}


def _pair(alg: bytes) -> tuple[ssh_encryption.Encryption, ssh_encryption.Encryption, bytes, bytes]:
    theirs_cls, ours_cls = sshfast._FAST[alg]
    name = ALGS[alg]
    key_size, iv_size, _block = get_cipher_params(name)
    key, iv = os.urandom(key_size), os.urandom(iv_size)
    return theirs_cls.new(name, key, iv), ours_cls.new(name, key, iv), key, iv


def _packets() -> list[tuple[int, bytes, bytes]]:
    # (sequence number, 4-byte length header, padded packet) as asyncssh hands them over,
    # up to the 32 KiB data packets of a download, and a sequence number about to wrap.
    sizes = [12, 28, 32_768 + 20, 1_000, 32_768 + 20, 60]
    seqs = [3, 4, 5, 6, 0xFFFFFFFF, 0]
    return [(seq, len(body).to_bytes(4, "big"), os.urandom(len(body) - 4) + bytes(4))
            for seq, body in zip(seqs, (os.urandom(n) for n in sizes), strict=True)]  # fmt: skip


@pytest.mark.parametrize("alg", list(ALGS))
def test_encrypted_packets_are_the_same_bytes_as_asyncssh(alg: bytes) -> None:
    theirs, ours, _key, _iv = _pair(alg)
    for seq, header, packet in _packets():
        t_body, t_mac = theirs.encrypt_packet(seq, header, packet)
        o_body, o_mac = ours.encrypt_packet(seq, header, packet)
        assert bytes(o_body) + bytes(o_mac) == bytes(t_body) + bytes(t_mac)
        assert len(o_mac) == 16  # the tag stays apart: asyncssh's key export needs it so
    # The data fast path's pieces are the same wire bytes (a fresh pair: IVs advance).
    theirs, ours, _key, _iv = _pair(alg)
    for seq, header, packet in _packets():
        t_body, t_mac = theirs.encrypt_packet(seq, header, packet)
        assert b"".join(ours.encrypt_pieces(seq, header, packet)) == bytes(t_body) + bytes(t_mac)


@pytest.mark.parametrize("alg", list(ALGS))
def test_each_decrypts_the_other_and_refuses_tampering(alg: bytes) -> None:
    theirs_tx, ours_tx, key, iv = _pair(alg)
    name = ALGS[alg]
    theirs_cls, ours_cls = sshfast._FAST[alg]
    for sender, receiver in (
        (ours_tx, theirs_cls.new(name, key, iv)),
        (theirs_tx, ours_cls.new(name, key, iv)),
    ):
        for seq, header, packet in _packets():
            body, mac = sender.encrypt_packet(seq, header, packet)
            wire = bytes(body) + bytes(mac)
            first, rest, tag = wire[:16], wire[16:-16], wire[-16:]
            _first, length = receiver.decrypt_header(seq, first, 4)
            assert length == header
            assert receiver.decrypt_packet(seq, first, rest, 4, tag) == packet
    # One flipped bit in the ciphertext: refused.
    sender, receiver = ours_cls.new(name, key, iv), ours_cls.new(name, key, iv)
    seq, header, packet = _packets()[2]
    wire = bytearray(b"".join(bytes(x) for x in sender.encrypt_packet(seq, header, packet)))
    wire[100] ^= 1
    assert (
        receiver.decrypt_packet(seq, bytes(wire[:16]), bytes(wire[16:-16]), 4, bytes(wire[-16:]))
        is None
    )


def test_install_is_idempotent_and_uses_the_fast_classes() -> None:
    assert sshfast.install_ciphers()
    assert sshfast.install_ciphers()
    for alg, (_theirs, ours) in sshfast._FAST.items():
        assert ssh_encryption._enc_params[alg] == (ours, ALGS[alg])
