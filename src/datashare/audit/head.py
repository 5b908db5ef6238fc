"""The signed chain head: exported periodically, checked by ``datashare audit verify --against``.

A keyed chain stops anyone without the key from rewriting rows, but not from deleting the
newest rows (and setting ``ChainHead`` back to match): what is left is still a valid chain. So the
scheduler writes the head (last row's number and hash, the row count, when), with an HMAC over
it, to ``AUDIT_HEAD_DIR`` every ``AUDIT_HEAD_EXPORT_MINUTES``: ``audit-head.json`` (the latest,
replaced atomically) and one line per export appended to ``audit-heads.jsonl``. Copy those files
somewhere the database's administrators cannot write (a log host, write-once storage). A head
must still be in the log later: its row present with the same hash, the chain intact up to it.
"""

from __future__ import annotations

import hmac
import json
import os
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings

from datashare.audit.chain import ChainProblem, audit_key, keyed_hash
from datashare.audit.models import AuditEvent, ChainHead
from datashare.core import clock
from datashare.core.scheduler import periodic

HEAD_FILE = "audit-head.json"
HISTORY_FILE = "audit-heads.jsonl"
FORMAT = "datashare-audit-head/1"


class BadHeadFile(ValueError):
    """The file is not a head this system wrote (unreadable, malformed, or its MAC is wrong)."""


def current_head() -> dict[str, Any]:
    head = ChainHead.objects.filter(pk=1).first()
    seq = head.last_seq if head else 0
    return {
        "format": FORMAT,
        "seq": seq,
        "hash": head.last_hash if head else "0" * 64,
        "count": AuditEvent.objects.filter(seq__lte=seq).count(),
        "exported_at": clock.now().isoformat(),
    }


def sign(record: dict[str, Any], key: bytes) -> dict[str, Any]:
    body = {k: v for k, v in record.items() if k != "mac"}
    return {**body, "mac": keyed_hash(body, key)}


def export_head(directory: Path | None = None) -> Path:
    """Write the signed head to ``directory`` (default ``AUDIT_HEAD_DIR``); return the file."""
    key = audit_key()
    if key is None:
        raise BadHeadFile("AUDIT_HMAC_KEY is not set: an unsigned head proves nothing")
    directory = Path(directory or settings.AUDIT_HEAD_DIR)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    record = sign(current_head(), key)
    text = json.dumps(record, sort_keys=True)
    # Replace atomically: a reader never sees half a file.
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".audit-head-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text + "\n")
        os.replace(tmp, directory / HEAD_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    with (directory / HISTORY_FILE).open("a") as history:
        history.write(text + "\n")
    return directory / HEAD_FILE


def load_head(path: Path) -> dict[str, Any]:
    """Read and authenticate a head file (the last line, for a ``.jsonl`` history)."""
    key = audit_key()
    if key is None:
        raise BadHeadFile("AUDIT_HMAC_KEY is not set: cannot check a signed head")
    try:
        lines = [line for line in Path(path).read_text().splitlines() if line.strip()]
        record = json.loads(lines[-1])
    except OSError as exc:
        raise BadHeadFile(f"cannot read {path}: {exc.strerror}") from None
    except (ValueError, IndexError):
        raise BadHeadFile(f"{path} is not a chain head file") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise BadHeadFile(f"{path} is not a chain head file")
    expected = sign(record, key)["mac"]
    if not hmac.compare_digest(str(record.get("mac", "")), expected):
        raise BadHeadFile(f"{path}: its MAC does not match (edited, or signed with another key)")
    if not isinstance(record.get("seq"), int) or not isinstance(record.get("hash"), str):
        raise BadHeadFile(f"{path} is not a chain head file")
    return record


def check_against(record: dict[str, Any]) -> list[ChainProblem]:
    """What in today's log contradicts an earlier exported head (run with ``chain.verify``)."""
    seq = record["seq"]
    if seq == 0:
        return []
    row = AuditEvent.objects.filter(seq=seq).first()
    if row is None:
        return [
            ChainProblem(
                seq, None, "head",
                f"the head exported at {record.get('exported_at')} ends at row #{seq}, which is no longer in the log",
            )
        ]  # fmt: skip
    if not hmac.compare_digest(row.hash, record["hash"]):
        return [
            ChainProblem(
                seq, row.pk, "head",
                f"its hash differs from the head exported at {record.get('exported_at')}: the log up to it was rewritten",
            )
        ]  # fmt: skip
    present = AuditEvent.objects.filter(seq__lte=seq).count()
    if present != record.get("count", seq):
        return [ChainProblem(seq, row.pk, "head", f"{present} rows up to it, the exported head counted {record.get('count')}")]
    return []


@periodic("audit.export_head", every=timedelta(minutes=settings.AUDIT_HEAD_EXPORT_MINUTES))
def export_head_job() -> None:
    export_head()
