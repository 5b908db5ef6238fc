"""Per-connection fast paths for asyncssh on the delivery server's bulk-download path.

Measured on the 1 GiB download (docs/delivery.md, "Benchmark"): asyncssh spends most of its
time per SSH packet, and a download is ~33,000 packets per GiB (the OpenSSH client accepts
32 KiB packets at most). Two habits of asyncssh double the work per packet:

* every packet is written to the socket on its own (``transport.write`` per packet, and
  ``TCP_NODELAY`` is set), so one 255 KiB SFTP reply costs ~16 ``send`` system calls;
* every packet after the key exchange is preceded by an empty ``SSH_MSG_IGNORE`` packet,
  encrypted and sent like any other (with chacha20-poly1305 that is three more cipher
  set-ups per packet). RFC 4251 section 9.3.1 recommends it against the chosen-plaintext
  attack on CBC mode's predictable IVs; the server offers only AEAD and CTR ciphers
  (``CIPHERS``), which that attack does not apply to, so here it protects nothing.

``tune(conn)`` gathers the writes of one event-loop pass into one ``send`` and leaves the
ignore packets out. Everything else (sequence numbers, rekeying, flow control) stays
asyncssh's. It uses one private attribute of asyncssh's connection (``_transport``):
asyncssh is pinned in uv.lock, and if an upgrade renames it ``tune`` changes nothing and
says so (tests/delivery/test_sftp_server.py checks that real connections are tuned).

``install_ciphers()`` replaces asyncssh's packet encryption for aes*-gcm and
chacha20-poly1305 with byte-for-byte identical versions that do less per packet: the AES-GCM
key schedule made once per key instead of once per packet and one copy of the packet fewer;
for chacha20-poly1305 no ChaCha20 set-up per packet instead of three (two contexts kept for
the connection and given each packet's nonce; the Poly1305 key and the payload come from one
keystream, as in OpenSSH's cipher-chachapoly.c) and the MAC fed in pieces instead of over a
concatenated copy. Same keys, nonces, counters and tags: tests
compare every output with asyncssh's own, and real OpenSSH clients download through them.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import os
import struct
import time
from typing import Any

import asyncssh
from asyncssh import channel as ssh_channel
from asyncssh import encryption as ssh_encryption
from asyncssh import sftp as ssh_sftp
from asyncssh.constants import (
    MSG_CHANNEL_DATA,
    MSG_CHANNEL_EOF,
    MSG_CHANNEL_EXTENDED_DATA,
    MSG_IGNORE,
)
from asyncssh.crypto import ChachaCipher
from asyncssh.packet import PacketDecodeError, SSHPacket, String, UInt32
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.ciphers.algorithms import ChaCha20
from cryptography.hazmat.primitives.poly1305 import Poly1305

log = logging.getLogger("datashare.sftp")

# asyncssh's own default list, stated so that a future asyncssh can never add a CBC cipher
# (the one place the ignore packets above would matter) without this list changing.
CIPHERS = (
    "chacha20-poly1305@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-gcm@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
)

_EMPTY_STRING = b"\0\0\0\0"  # the payload of asyncssh's ignore packet: String(b"")


class CoalescingTransport:
    """A transport that sends what was written during one event-loop pass as one write.

    Memory: what asyncssh writes in one pass is at most the client's channel window (2 MiB
    for OpenSSH) plus a few control packets; it is handed to the real transport in the
    next pass, whose own buffer and flow control (``pause_writing``) then apply as before."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._pending: list[bytes] = []
        self._loop = asyncio.get_running_loop()

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def write_pieces(self, pieces: tuple[bytes | memoryview, ...]) -> None:
        """Several pieces of one packet, copied once, by the join of the next flush."""
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.extend(pieces)  # type: ignore[arg-type]

    def flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            # As asyncssh's own _send: a reset connection is reported by connection_lost.
            with contextlib.suppress(ConnectionError):
                self._transport.write(data)

    def close(self) -> None:
        self.flush()  # a disconnect message written just before must still go out
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


# The asyncssh release the data-packet fast path below was written against and checked with
# (rekeying included: test_sftp_server.py). Under any other release only the two changes
# above apply, which use no more of asyncssh than its method names and _transport.
FAST_PATH_ASYNCSSH = "2.24.1"
_CONN_STATE = (
    "_auth_complete", "_kex_complete", "_compressor", "_send_encryption", "_send_enchdrlen",
    "_send_blocksize", "_send_seq", "_rekey_bytes", "_rekey_bytes_sent", "_rekey_seconds",
    "_rekey_time",
)  # fmt: skip


def tune(conn: asyncssh.SSHServerConnection) -> bool:
    """Apply the fast paths to a new connection (from ``SSHServer.connection_made``);
    False (and a warning) when this asyncssh does not look like the one they were made for."""
    transport = getattr(conn, "_transport", None)
    if not isinstance(transport, asyncio.Transport) or not callable(
        getattr(conn, "send_packet", None)
    ):
        log.warning("asyncssh %s: SFTP fast paths not applied", asyncssh.__version__)
        return False
    coalescing = CoalescingTransport(transport)
    conn._transport = coalescing  # type: ignore[assignment]
    send_packet = conn.send_packet
    data_path = asyncssh.__version__ == FAST_PATH_ASYNCSSH and all(
        hasattr(conn, name) for name in _CONN_STATE
    )
    if not data_path:
        log.warning("asyncssh %s: SSH data fast path not applied", asyncssh.__version__)
    c: Any = conn  # its private state, read and advanced exactly as its send_packet does
    asyncssh_log = logging.getLogger("asyncssh")

    def send(pkttype: int, *args: bytes, **kwargs: Any) -> None:
        if pkttype == MSG_IGNORE and args == (_EMPTY_STRING,):
            return  # see the module's docstring
        enc = c._send_encryption
        if (
            not data_path
            or pkttype != MSG_CHANNEL_DATA
            or not (c._kex_complete and c._auth_complete)
            or c._compressor is not None
            or not isinstance(enc, FastGCMEncryption | FastChachaEncryption)
            or c._rekey_bytes_sent >= c._rekey_bytes
            or (c._rekey_seconds and time.monotonic() >= c._rekey_time)
            or asyncssh_log.isEnabledFor(logging.DEBUG)  # packet logs: asyncssh's own path
        ):
            send_packet(pkttype, *args, **kwargs)
            return
        # asyncssh's send_packet for a channel data packet once keys and login are done, with
        # the plaintext built by one join and the ciphertext's pieces joined once, with the
        # rest of the pass's packets, by the transport (it copied each packet five times).
        payload_len = 1 + sum(map(len, args))
        padlen = -(c._send_enchdrlen + payload_len) % c._send_blocksize
        if padlen < 4:
            padlen += c._send_blocksize
        packet = b"".join((bytes((padlen, pkttype)), *args, os.urandom(padlen)))
        seq = c._send_seq
        coalescing.write_pieces(enc.encrypt_pieces(seq, len(packet).to_bytes(4, "big"), packet))
        c._send_seq = (seq + 1) & 0xFFFFFFFF
        c._rekey_bytes_sent += len(packet)

    # An instance attribute: asyncssh's send_packet calls self.send_packet for the ignore
    # packet, which now lands here.
    conn.send_packet = send  # type: ignore[method-assign,assignment]
    return True


def is_tuned(conn: asyncssh.SSHServerConnection) -> bool:
    return isinstance(getattr(conn, "_transport", None), CoalescingTransport)


# --- packet encryption -------------------------------------------------------------------

_TAG = 16
_COUNTER_0 = bytes(8)  # ChaCha20's 64-bit block counter, little-endian, before the nonce
_ONE_BLOCK = bytes(64)


class FastGCMEncryption(ssh_encryption.GCMEncryption):
    """aes128-gcm / aes256-gcm (RFC 5647 as OpenSSH does it): the 12-byte IV is a fixed
    4-byte part and a 64-bit invocation counter that advances after every packet."""

    def __init__(self, key: bytes, iv: bytes) -> None:  # no asyncssh GCMCipher: its own state
        self._aead = AESGCM(key)
        self._fixed = iv[:4]
        self._invocation = int.from_bytes(iv[4:], "big")

    @classmethod
    def new(
        cls,
        cipher_name: str,
        key: bytes,
        iv: bytes,
        mac_alg: bytes = b"",
        mac_key: bytes = b"",
        etm: bool = False,
    ) -> FastGCMEncryption:
        return cls(key, iv)

    def _next_iv(self) -> bytes:
        iv = self._fixed + self._invocation.to_bytes(8, "big")
        self._invocation = (self._invocation + 1) & 0xFFFFFFFFFFFFFFFF
        return iv

    def encrypt_packet(self, seq: int, header: bytes, packet: bytes) -> tuple[bytes, bytes]:
        sealed = memoryview(self._aead.encrypt(self._next_iv(), packet, header))
        return header + sealed[:-_TAG], bytes(sealed[-_TAG:])

    def encrypt_pieces(self, seq: int, header: bytes, packet: bytes) -> tuple[bytes, ...]:
        """The packet as it goes on the wire, in pieces: length, ciphertext and tag."""
        return header, self._aead.encrypt(self._next_iv(), packet, header)

    def decrypt_packet(
        self, seq: int, first: bytes, rest: bytes, header_len: int, mac: bytes
    ) -> bytes | None:
        iv = self._next_iv()  # advances whether or not the packet authenticates, as asyncssh
        try:
            return self._aead.decrypt(iv, first[header_len:] + rest + mac, first[:header_len])
        except InvalidTag:
            return None


class FastChachaEncryption(ssh_encryption.ChachaEncryption):
    """chacha20-poly1305@openssh.com (OpenSSH PROTOCOL.chacha20poly1305): the length under
    K_1, the payload under K_2 from block 1, the Poly1305 key from K_2's block 0, the nonce
    the packet's sequence number. An instance serves one direction (asyncssh makes one for
    sending and one for receiving), so one pair of contexts serves both methods."""

    def __init__(self, key: bytes) -> None:
        super().__init__(ChachaCipher(key))
        self._main_key = key[:32]  # K_2, asyncssh's ChachaCipher._key
        self._length_key = key[32:]  # K_1, asyncssh's ChachaCipher._adkey
        # One ChaCha20 context per key for the connection's life, given each packet's nonce
        # with reset_nonce (cryptography >= 43): setting up a context costs ~10 us, twice per
        # 32 KiB packet, where resetting its nonce costs ~1 us (OpenSSH also keeps its two).
        self._main = Cipher(ChaCha20(self._main_key, bytes(16)), mode=None).encryptor()
        self._length = Cipher(ChaCha20(self._length_key, bytes(16)), mode=None).encryptor()

    @classmethod
    def new(
        cls,
        cipher_name: str,
        key: bytes,
        iv: bytes,
        mac_alg: bytes = b"",
        mac_key: bytes = b"",
        etm: bool = False,
    ) -> FastChachaEncryption:
        return cls(key)

    def encrypt_packet(self, seq: int, header: bytes, packet: bytes) -> tuple[bytes, bytes]:
        head, body, tag = self.encrypt_pieces(seq, header, packet)
        return head + body, tag

    def encrypt_pieces(self, seq: int, header: bytes, packet: bytes) -> tuple[bytes, ...]:
        """The packet as it goes on the wire, in pieces: length, ciphertext and tag."""
        nonce = _COUNTER_0 + seq.to_bytes(8, "big")
        stream = self._main
        stream.reset_nonce(nonce)  # the block counter back to 0 with this packet's nonce
        mac = Poly1305(stream.update(_ONE_BLOCK)[:32])  # block 0; the payload starts at block 1
        body = stream.update(packet)
        self._length.reset_nonce(nonce)
        head = self._length.update(header)
        mac.update(head)
        mac.update(body)
        return head, body, mac.finalize()

    def decrypt_header(self, seq: int, first_block: bytes, header_len: int) -> tuple[bytes, bytes]:
        self._length.reset_nonce(_COUNTER_0 + seq.to_bytes(8, "big"))
        return first_block, self._length.update(first_block[:header_len])

    def decrypt_packet(
        self, seq: int, first: bytes, rest: bytes, header_len: int, mac: bytes
    ) -> bytes | None:
        """The payload, once its tag is verified over the encrypted length and payload (as
        asyncssh: None if it does not verify, and nothing is decrypted then)."""
        stream = self._main
        stream.reset_nonce(_COUNTER_0 + seq.to_bytes(8, "big"))
        check = Poly1305(stream.update(_ONE_BLOCK)[:32])
        body = memoryview(first)[header_len:]
        check.update(memoryview(first)[:header_len])
        check.update(body)
        check.update(rest)
        try:
            check.verify(mac)  # constant-time comparison
        except InvalidSignature:
            return None
        return stream.update(body) + stream.update(rest)


_FAST = {
    b"aes128-gcm@openssh.com": (ssh_encryption.GCMEncryption, FastGCMEncryption),
    b"aes256-gcm@openssh.com": (ssh_encryption.GCMEncryption, FastGCMEncryption),
    b"chacha20-poly1305@openssh.com": (ssh_encryption.ChachaEncryption, FastChachaEncryption),
}


def install_ciphers() -> bool:
    """Use the faster packet encryption for every asyncssh connection of this process
    (idempotent). False (and a warning) when asyncssh's registry is not the expected one."""
    table = getattr(ssh_encryption, "_enc_params", None)
    if not isinstance(table, dict):
        log.warning("asyncssh %s: faster SSH ciphers not installed", asyncssh.__version__)
        return False
    installed = True
    for alg, (theirs, ours) in _FAST.items():
        entry = table.get(alg)
        if entry is None or entry[0] not in (theirs, ours):
            log.warning("asyncssh %s: %s left as it is", asyncssh.__version__, alg.decode())
            installed = False
            continue
        table[alg] = (ours, entry[1])
    return installed


# --- SFTP READ replies -------------------------------------------------------------------
#
# asyncssh answers an SFTP READ through its generic request handler and its channel's byte
# buffer, which copy each 255 KiB reply about six times before the data fast path above sees
# it (String(data), the SFTP packet's two joins, its length prefix, the channel's bytearray,
# each 32 KiB slice and its channel header). Here a READ is answered with views of the
# decrypted chunks: the SFTP header is built once and the views are cut into SSH packets
# without copying, so the first copy of the plaintext is the SSH packet's own join. Only the
# successful reply takes this way; errors, end of file, bad requests and unknown handles are
# answered by asyncssh's own handler, as is every other request.

_SFTP_DATA_HEADER = struct.Struct(">IBII")  # length, FXP_DATA, request id, data length


class SendPieces:
    """One SFTP message waiting in a channel's send buffer, as read-only views of the buffers
    it was built from, taken off in SSH-packet-sized runs of views (no copy)."""

    __slots__ = ("_size", "_views")

    def __init__(self, views: list[memoryview]) -> None:
        self._views = collections.deque(views)
        self._size = sum(map(len, views))

    def __len__(self) -> int:
        return self._size

    def take(self, limit: int) -> list[memoryview]:
        """The next ``limit`` bytes (or all that is left), as views."""
        out: list[memoryview] = []
        views = self._views
        while limit and views:
            view = views[0]
            if len(view) <= limit:
                out.append(views.popleft())
                limit -= len(view)
            else:
                out.append(view[:limit])
                views[0] = view[limit:]
                limit = 0
        self._size -= sum(map(len, out))
        return out


def _flush_send_buf(chan: Any) -> None:
    """asyncssh 2.24.1's ``SSHChannel._flush_send_buf`` (the same packets, window and flow
    control, EOF and close), also taking ``SendPieces``: their packets go to the connection
    as the channel header and the views, joined once by the connection's packet builder."""
    send_buf = chan._send_buf
    while send_buf and chan._send_window:
        pktsize = min(chan._send_window, chan._send_pktsize)
        buf, datatype = send_buf[0]
        if isinstance(buf, SendPieces):
            views = buf.take(pktsize)
            if not buf:
                del send_buf[0]
            size = sum(map(len, views))
            chan._send_buf_len -= size
            chan._send_window -= size
            # SSHChannel.send_packet without its join: the channel id, the data's length and
            # the data, as String(data) would have it.
            if chan._send_chan is not None:
                chan._conn.send_packet(
                    MSG_CHANNEL_DATA, UInt32(chan._send_chan), UInt32(size), *views, handler=chan
                )
            continue
        if len(buf) > pktsize:
            data = buf[:pktsize]
            del buf[:pktsize]
        else:
            data = buf
            del send_buf[0]
        chan._send_buf_len -= len(data)
        chan._send_window -= len(data)
        if datatype is None:
            chan.send_packet(MSG_CHANNEL_DATA, String(data))
        else:
            chan.send_packet(MSG_CHANNEL_EXTENDED_DATA, UInt32(datatype), String(data))
    chan._pause_resume_writing()
    if not send_buf:
        if chan._send_state == "eof_pending":
            chan.send_packet(MSG_CHANNEL_EOF)
            chan._send_state = "eof"
        elif chan._send_state == "close_pending":
            chan._close_send()


_CHANNEL_STATE = (
    "_send_buf", "_send_buf_len", "_send_window", "_send_pktsize", "_send_chan", "_send_state",
    "_conn", "_pause_resume_writing", "_close_send", "_flush_send_buf",
)  # fmt: skip


class FastSFTPServerHandler(ssh_sftp.SFTPServerHandler):
    """asyncssh's SFTP server handler, answering a successful READ itself when the server
    object offers ``read_views(file_obj, offset, length) -> list[memoryview]`` (else, and
    for everything but READ, it is asyncssh's handler unchanged)."""

    def __init__(self, server: Any, reader: Any, writer: Any, sftp_version: int) -> None:
        super().__init__(server, reader, writer, sftp_version)
        chan = writer.channel
        self._read_views = getattr(server, "read_views", None)
        if (
            not callable(self._read_views)
            # asyncssh's line editor wraps the channel in a proxy (server option line_editor)
            or not isinstance(chan, ssh_channel.SSHChannel)
            or not all(hasattr(chan, n) for n in _CHANNEL_STATE)
        ):
            self._read_views = None
            return
        # An instance attribute: every asyncssh method of the channel calls
        # self._flush_send_buf(), which now also takes SendPieces.
        chan._flush_send_buf = functools.partial(_flush_send_buf, chan)  # type: ignore[method-assign]

    async def _process_packet(self, pkttype: int, pktid: int, packet: SSHPacket) -> None:
        if (
            pkttype != ssh_sftp.FXP_READ
            or self._read_views is None
            or self._version >= 6  # replies then carry an end-of-file flag: asyncssh's way
            or self.logger.isEnabledFor(logging.DEBUG)  # its request logs: asyncssh's way
        ):
            await super()._process_packet(pkttype, pktid, packet)
            return
        request = packet.get_remaining_payload()
        try:  # as asyncssh's _process_read
            handle = packet.get_string()
            offset = packet.get_uint64()
            length = packet.get_uint32()
            packet.check_end()
        except PacketDecodeError:
            file_obj = None
        else:
            file_obj = self._file_handles.get(handle)
        if not file_obj:  # asyncssh answers a malformed request or an unknown handle
            await super()._process_packet(pkttype, pktid, SSHPacket(request))
            return
        outcome: list[memoryview] | Exception
        try:
            outcome = await self._read_views(file_obj, offset, length)
        except Exception as exc:  # its reply is asyncssh's, below
            outcome = exc
        if isinstance(outcome, Exception) or not outcome:
            await self._answer_as_asyncssh(pktid, request, outcome)
            return
        writer = self._writer
        if not writer:
            raise ssh_sftp.SFTPNoConnection("Connection not open")
        chan: Any = writer.channel
        if chan.is_closing():
            return  # as SFTPHandler.send_packet
        if chan._send_state != "open":
            raise BrokenPipeError("Channel not open for sending")  # as SSHChannel.write
        size = sum(map(len, outcome))
        header = _SFTP_DATA_HEADER.pack(9 + size, ssh_sftp.FXP_DATA, pktid, size)
        pieces = SendPieces([memoryview(header), *outcome])
        chan._send_buf.append((pieces, None))
        chan._send_buf_len += len(pieces)
        chan._flush_send_buf()

    async def _answer_as_asyncssh(
        self, pktid: int, request: bytes, outcome: list[memoryview] | Exception
    ) -> None:
        """The read failed or found the end of the file: asyncssh's handler answers the
        request, its server's ``read`` giving that outcome again (not reading twice)."""
        server = self._server

        async def again(file_obj: object, offset: int, length: int) -> bytes:
            if isinstance(outcome, Exception):
                raise outcome
            return b""

        server.read = again  # type: ignore[method-assign,assignment]
        try:
            await super()._process_packet(ssh_sftp.FXP_READ, pktid, SSHPacket(request))
        finally:
            del server.read  # type: ignore[attr-defined]  # the class's own again


def install_sftp() -> bool:
    """Answer SFTP READs with ``FastSFTPServerHandler`` in this process's asyncssh SFTP
    servers whose server object offers ``read_views`` (idempotent). Only under the asyncssh
    it was checked with: it reproduces a private method of its channel."""
    if asyncssh.__version__ != FAST_PATH_ASYNCSSH or not hasattr(ssh_sftp, "_sftp_handler"):
        log.warning("asyncssh %s: SFTP read fast path not applied", asyncssh.__version__)
        return False
    if ssh_sftp.SFTPServerHandler is not FastSFTPServerHandler:
        # _sftp_handler creates the handler through this module global.
        ssh_sftp.SFTPServerHandler = FastSFTPServerHandler  # type: ignore[misc]
    return True
