"""The disclosure engine's two states for rate tables, forced in a test, so the portal's
wording is checked for both whatever the engine does today: rates audited as two label-blind
tables (two audits keyed ``numerator`` and ``denominator``), or as one model (one audit keyed
``numerator/denominator``, ``api.RATE_KEY``, with its own model name)."""

from __future__ import annotations

from typing import Any

import pytest

from datashare.disclosure import api as disclosure

RATE = {"numerator": "numerator", "denominator": "denominator"}
JOINT = disclosure.RATE_KEY.format(**RATE)


def _rekey(result: disclosure.TableAudit, keys: list[str],
           model: str | None) -> disclosure.TableAudit:
    first = next(iter(result.results.values()))
    out = disclosure.TableAudit(result.space, dict.fromkeys(keys, first))
    if model is not None and hasattr(out, "models"):  # an engine that names a model per audit
        out.models = dict.fromkeys(keys, model)
    return out


def _force(monkeypatch: pytest.MonkeyPatch, keys: list[str], model: str | None) -> None:
    real_suppress, real_audit = disclosure.suppress_table, disclosure.audit_table

    def is_rate(kwargs: dict[str, Any]) -> bool:
        return kwargs.get("numerator") is not None

    def suppress(*args: Any, **kwargs: Any) -> disclosure.SuppressionResult:
        out = real_suppress(*args, **kwargs)
        if is_rate(kwargs) and out.audit is not None:
            out.audit = _rekey(out.audit, keys, model)
            out.report["audit"] = out.audit.summary()
            if model is not None:
                out.report["attacker_model"] = model
                for summary in out.report["audit"]["measures"].values():
                    summary["attacker_model"] = model
        return out

    def audit(*args: Any, **kwargs: Any) -> disclosure.TableAudit:
        result = real_audit(*args, **kwargs)
        return _rekey(result, keys, model) if is_rate(kwargs) else result

    monkeypatch.setattr(disclosure, "suppress_table", suppress)
    monkeypatch.setattr(disclosure, "audit_table", audit)


def two_table_rates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rates audited as two separate, label-blind tables (the engine before issue 12's
    rate model)."""
    _force(monkeypatch, ["denominator", "numerator"], None)


def joint_rates(monkeypatch: pytest.MonkeyPatch, model: str = "labels-v3") -> None:
    """Rates audited as one model, under ``model``."""
    _force(monkeypatch, [JOINT], model)
