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
ignore packets out. Everything else (encryption, sequence numbers, rekeying, flow control)
stays asyncssh's. It uses one private attribute of asyncssh's connection (``_transport``):
asyncssh is pinned in uv.lock, and if an upgrade renames it ``tune`` changes nothing and
says so (tests/delivery/test_sftp_server.py checks that real connections are tuned).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncssh
from asyncssh.constants import MSG_IGNORE

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

    def flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
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


def tune(conn: asyncssh.SSHServerConnection) -> bool:
    """Apply the fast paths to a new connection (from ``SSHServer.connection_made``);
    False (and a warning) when this asyncssh does not look like the one they were made for."""
    transport = getattr(conn, "_transport", None)
    if not isinstance(transport, asyncio.Transport) or not callable(
        getattr(conn, "send_packet", None)
    ):
        log.warning("asyncssh %s: SFTP fast paths not applied", asyncssh.__version__)
        return False
    conn._transport = CoalescingTransport(transport)  # type: ignore[assignment]

    send_packet = conn.send_packet

    def send_without_ignore(pkttype: int, *args: bytes, **kwargs: Any) -> None:
        if pkttype == MSG_IGNORE and args == (_EMPTY_STRING,):
            return
        send_packet(pkttype, *args, **kwargs)

    # An instance attribute: asyncssh's send_packet calls self.send_packet for the ignore
    # packet, which now lands here.
    conn.send_packet = send_without_ignore  # type: ignore[method-assign,assignment]
    return True


def is_tuned(conn: asyncssh.SSHServerConnection) -> bool:
    return isinstance(getattr(conn, "_transport", None), CoalescingTransport)
