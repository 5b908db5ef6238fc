"""The delivery server's faster SSH packet encryption is asyncssh's, byte for byte: the same
keys, IVs and sequence numbers give the same wire bytes, each side decrypts the other's
packets, and a tampered packet is refused. (Real OpenSSH clients downloading through them:
test_sftp_server.py.)"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import asyncssh
import pytest
from asyncssh import channel as ssh_channel
from asyncssh import encryption as ssh_encryption
from asyncssh.constants import MSG_CHANNEL_EOF, MSG_CHANNEL_WINDOW_ADJUST
from asyncssh.crypto import get_cipher_params
from asyncssh.logging import logger as asyncssh_logger
from asyncssh.packet import SSHPacket, String, UInt32, UInt64
from asyncssh.sftp import FXP_READ

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
    # One flipped bit in the payload, the length or the tag: refused. (A fresh receiver each
    # time: AES-GCM's IV advances with every packet, authenticated or not.)
    seq, header, packet = _packets()[2]
    wire = b"".join(
        bytes(x) for x in ours_cls.new(name, key, iv).encrypt_packet(seq, header, packet)
    )
    for flipped in (100, 2, len(wire) - 3, None):
        tampered = bytearray(wire)
        if flipped is not None:
            tampered[flipped] ^= 1
        first, rest, tag = bytes(tampered[:16]), bytes(tampered[16:-16]), bytes(tampered[-16:])
        plain = ours_cls.new(name, key, iv).decrypt_packet(seq, first, rest, 4, tag)
        assert plain == (packet if flipped is None else None)


def test_install_is_idempotent_and_uses_the_fast_classes() -> None:
    assert sshfast.install_ciphers()
    assert sshfast.install_ciphers()
    for alg, (_theirs, ours) in sshfast._FAST.items():
        assert ssh_encryption._enc_params[alg] == (ours, ALGS[alg])


# --- SFTP READ replies --------------------------------------------------------------------


class _Conn:
    """What a channel needs of its connection; records each packet's payload as asyncssh's
    send_packet would build it (the bytes the packet encryption then sees)."""

    logger = asyncssh_logger

    def __init__(self) -> None:
        self.sent: list[tuple[int, bytes]] = []

    def add_channel(self, chan: object) -> int:
        return 3

    def send_packet(self, pkttype: int, *args: bytes, handler: object = None) -> None:
        self.sent.append((pkttype, b"".join(args)))


class _Writer:
    def __init__(self, chan: ssh_channel.SSHChannel[bytes]) -> None:
        self.channel = chan

    def write(self, data: bytes) -> None:
        self.channel.write(data)


class _Server:
    """A file as views of 100,000-byte chunks (as the vault's reader gives them); a read at
    offset 666 is refused."""

    def __init__(self, data: bytes) -> None:
        self.chunks = [data[i : i + 100_000] for i in range(0, len(data), 100_000)]
        self.size = len(data)
        self.reads = 0

    async def read_views(self, file_obj: object, offset: int, length: int) -> list[memoryview]:
        self.reads += 1
        if offset == 666:
            raise asyncssh.SFTPPermissionDenied("refused for the test")
        end = min(self.size, offset + min(length, 255 * 1024))
        views = []
        while offset < end:
            index, start = divmod(offset, 100_000)
            views.append(memoryview(self.chunks[index])[start : start + end - offset])
            offset += len(views[-1])
        return views

    async def read(self, file_obj: object, offset: int, length: int) -> bytes:
        return b"".join(await self.read_views(file_obj, offset, length))

    def exit(self) -> None:
        pass


def _read_request(handle: bytes, offset: int, length: int, extra: bytes = b"") -> bytes:
    return String(handle) + UInt64(offset) + UInt32(length) + extra


async def _serve_reads(handler_cls: type, data: bytes) -> tuple[list[tuple[int, bytes]], int]:
    conn = _Conn()
    chan: ssh_channel.SSHChannel[bytes] = ssh_channel.SSHChannel(
        conn,  # type: ignore[arg-type]
        asyncio.get_running_loop(),
        None,
        "strict",
        2 << 20,
        32768,
    )
    chan._send_state = chan._recv_state = "open"
    chan._send_chan, chan._send_window, chan._send_pktsize = 9, 300_000, 32768
    chan._session = SimpleNamespace(  # type: ignore[assignment]
        pause_writing=lambda: None, resume_writing=lambda: None
    )
    server = _Server(data)
    handler = handler_cls(server, SimpleNamespace(logger=conn.logger), _Writer(chan), 3)
    handler._file_handles[b"\0\0\0\1"] = object()

    def adjust(n: int) -> None:  # the client's window adjust, through asyncssh's handler
        chan._process_window_adjust(MSG_CHANNEL_WINDOW_ADJUST, 0, SSHPacket(UInt32(n)))

    requests = [
        _read_request(b"\0\0\0\1", 0, 255 * 1024),  # fits the window at once
        _read_request(b"\0\0\0\1", 255 * 1024, 255 * 1024),  # waits for window adjusts
        _read_request(b"\0\0\0\1", 12_345, 70_001),  # behind the one still waiting
        _read_request(b"\0\0\0\1", len(data) - 1000, 255 * 1024),  # the file's last bytes
        _read_request(b"\0\0\0\1", len(data), 32768),  # end of file
        _read_request(b"\0\0\0\1", 666, 10),  # refused by the server
        _read_request(b"\0\0\0\2", 0, 10),  # unknown handle
        _read_request(b"\0\0\0\1", 0, 10, extra=b"x"),  # malformed
        b"\0\0",  # truncated
    ]
    for pktid, request in enumerate(requests, start=7):
        await handler._process_packet(FXP_READ, pktid, SSHPacket(request))
        adjust(10_000)
        adjust(50_001)
    chan.write_eof()  # sent once the last reply has left
    while chan._send_buf:
        adjust(40_000)
    return conn.sent, server.reads


def _run_on_own_thread(coro: Any) -> Any:
    """asyncio.run, on a thread of its own: a test run earlier in the same pytest process can
    leave an event loop marked running on this one (seen under pytest-xdist in `make test`:
    "asyncio.run() cannot be called from a running event loop")."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_read_replies_are_the_same_packets_as_asyncssh() -> None:
    data = os.urandom(700_000)
    asyncssh_handler = sshfast.FastSFTPServerHandler.__mro__[1]
    theirs, their_reads = _run_on_own_thread(_serve_reads(asyncssh_handler, data))
    ours, our_reads = _run_on_own_thread(_serve_reads(sshfast.FastSFTPServerHandler, data))
    assert [p for p, _ in ours] == [p for p, _ in theirs]  # same packets, same boundaries
    assert ours == theirs
    assert our_reads == their_reads == 6  # an error or end of file is not read twice
    assert theirs[-1] == (MSG_CHANNEL_EOF, UInt32(9))
    assert len(theirs) > 30 and all(len(p) <= 32768 + 9 for _, p in theirs)
