"""The certificate says which attacker model each measure's proof used, read from the
disclosure engine's report, and says plainly when a rate table's proof does not yet account
for what the suppression labels reveal. Every table is audited again from the published file
alone, and a table whose file fails that audit is not releasable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from datashare.aggregate import publish
from datashare.aggregate.build import TableRequest, build
from datashare.aggregate.publish import (
    failure_reason,
    labels_accounted,
    notes,
    proof_models,
    read_published_csv,
    suppress,
)
from datashare.aggregate.sample import write_sample
from datashare.disclosure.model import ATTACKER_MODEL
from tests.aggregate.engine_states import JOINT, joint_rates, two_table_rates

NOT_YET = "does not yet account for what the suppression labels reveal"
RATE = {"numerator": "numerator", "denominator": "denominator"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("proof") / "src", students=900, seed=4)


def _small(sample: Path, table: str) -> Any:
    return build(sample, TableRequest(table, 2025, level="district", groups=("gender",)))


def test_a_count_table_records_the_label_aware_model_the_engine_reported(sample: Path) -> None:
    published = suppress(_small(sample, "enrollment"))
    cert = published.certificate
    assert published.passed and cert["audited_from"] == "the published CSV file"
    model = cert["attacker_model"]["count"]
    assert model["attacker_model"] == ATTACKER_MODEL  # what the report said, as it said it
    assert model["labels"] is True and cert["labels_accounted"] is True
    assert "N<10" in model["text"] and "10 or more" in model["text"]
    text = " ".join(notes(published))
    assert NOT_YET not in text and model["text"] in text


def test_a_rate_table_audited_as_two_tables_says_its_proof_ignores_the_labels(
        sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    two_table_rates(monkeypatch)
    published = suppress(_small(sample, "graduation_4yr"))
    cert = published.certificate
    # Still releasable (the two-table audit passed), but not overclaimed.
    assert published.passed and cert["labels_accounted"] is False
    assert set(cert["attacker_model"]) == {"numerator", "denominator"}
    for model in cert["attacker_model"].values():
        assert model["labels"] is False
        assert model["attacker_model"] == ATTACKER_MODEL  # recorded as the report gave it
        assert model["audit"] == "numerators and denominators as two separate tables"
        assert NOT_YET in model["text"]
    lines = notes(published)
    assert sum(NOT_YET in line for line in lines) == 1  # said once, not once per measure
    assert any("published numbers and sums alone" in line for line in lines)


def test_when_the_engine_audits_rates_as_one_model_the_text_follows_by_itself(
        sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the rates work changes: one audit keyed numerator/denominator (api.RATE_KEY),
    naming its model. Nothing in the portal changes; the certificate does."""
    joint_rates(monkeypatch, "labels-v3")
    cert = suppress(_small(sample, "graduation_4yr")).certificate
    assert cert["labels_accounted"] is True
    for model in cert["attacker_model"].values():
        assert model["attacker_model"] == "labels-v3" and model["labels"] is True
        assert model["audit"] == "numerators and denominators together"
        assert NOT_YET not in model["text"] and "no numerator is above" in model["text"]


def test_the_real_engine_says_of_a_rate_table_what_its_audits_were(sample: Path) -> None:
    """Whichever state the engine is in, the words match what it did."""
    published = suppress(_small(sample, "dropout"))
    audits = set(published.certificate["parts"][0]["independent_audit"]["measures"])
    together = JOINT in audits
    assert published.certificate["labels_accounted"] is together
    text = " ".join(notes(published))
    assert (NOT_YET in text) is not together


def test_the_model_is_read_per_measure_when_the_report_gives_one_per_measure() -> None:
    report = {"attacker_model": {"numerator": "rates-v1", "denominator": "rates-v1"}}
    models = proof_models(report, {"numerator": None, "denominator": None}, RATE)
    assert all(m["labels"] and m["attacker_model"] == "rates-v1" for m in models.values())
    # Each audit may name its own model: the joint one's wins, and one without labels
    # ("structure-only") claims nothing.
    joint = proof_models({"attacker_model": "labels-v2"},
                         {"numerator/denominator": "labels-v3"}, RATE)
    assert all(m["labels"] and m["attacker_model"] == "labels-v3" for m in joint.values())
    blind = proof_models({"attacker_model": "labels-v2"}, {"count": publish.NO_LABELS},
                         {"count": "count"})
    assert blind["count"]["labels"] is False
    # A report that names no model claims nothing.
    silent = proof_models({}, {"count": None}, {"count": "count"})
    assert silent["count"]["labels"] is False and "did not name" in silent["count"]["text"]
    assert labels_accounted({}) is False  # an old certificate: not known, not claimed


def test_the_published_file_is_audited_as_audit_table_reads_it(sample: Path) -> None:
    published = suppress(_small(sample, "enrollment"))
    frame = read_published_csv(published.csv, ["count"])
    assert frame["organization"].map(type).eq(str).all()  # codes stay text
    hidden = published.table["count"].isna().to_numpy()
    assert frame.loc[hidden, "count"].isna().all() and hidden.any()
    assert len(frame) == len(published.table)


def test_a_table_whose_published_file_fails_its_audit_is_not_releasable(
        sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = _small(sample, "enrollment")
    truth = built.frame["count"].to_numpy()
    real_csv = publish.published_csv

    def leaky(table: pd.DataFrame) -> bytes:
        # A writer bug that prints the complementary cells' true values: the primaries
        # beside them can then be worked out from the file.
        out = table.copy()
        comp = (out["suppression"] == "complementary").to_numpy()
        out.loc[comp, "count"] = truth[comp]
        return real_csv(out)

    monkeypatch.setattr(publish, "published_csv", leaky)
    published = suppress(built)
    assert not published.passed
    part = published.certificate["parts"][0]
    assert part["suppressor_audit"]["passed"] and not part["independent_audit"]["passed"]
    reason = failure_reason(published.certificate)
    assert reason.startswith("the audit of the published file failed for")
    assert "first: count at" in reason
    assert any("THE AUDIT FAILED" in line for line in notes(published))


def test_a_table_not_audited_from_its_file_is_never_releasable(sample: Path) -> None:
    published = suppress(_small(sample, "enrollment"), independent=False)
    assert not published.passed and published.csv == b""
    assert "was not audited" in failure_reason(published.certificate)
