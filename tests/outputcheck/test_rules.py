"""The agency's output-checking rules on hand-made tables (threshold 10, OSPI)."""

from __future__ import annotations

import pytest

from datashare.disclosure.policy import load_policy, policy_from_dict
from datashare.outputcheck import Rules, Severity, check_table
from datashare.outputcheck.readers import Table


def table(rows: list[list[object]], name: str = "results.csv", part: str = "") -> Table:
    t = Table(file=name, part=part)
    for number, row in enumerate(rows, start=1):
        t.add(number, list(row))  # type: ignore[arg-type]
    return t


def found(rows: list[list[object]], rules: Rules | None = None) -> list[tuple[str, str, str]]:
    return [(f.severity.value, f.rule, f.cell) for f in check_table(table(rows), rules)]


def test_a_count_from_one_to_nine_blocks_and_points_at_its_cell() -> None:
    findings = check_table(table([["Group", "Students"], ["Asian", 9], ["White", 10], ["Black", 0]]))
    small = [f for f in findings if f.rule == "small-count"]
    assert len(small) == 1
    assert small[0].severity is Severity.BLOCK
    assert (small[0].row, small[0].column, small[0].cell) == (2, 2, "B2")
    assert small[0].column_label == "Students"
    assert "threshold of 10" in small[0].message
    assert small[0].where == "results.csv, cell B2 (Students)"


def test_a_percentage_whose_numerator_back_calculates_to_three_blocks() -> None:
    # 30% of a group of 10 can only be 3 students: the count is hidden but recoverable.
    rows = [["School", "N", "% proficient"], ["Adams", 10, "30%"], ["Baker", 200, "30%"]]
    assert found(rows) == [("block", "back-calculation", "C2")]
    message = check_table(table(rows))[0].message
    assert "back-calculates to 3" in message


def test_the_rounding_shown_decides_whether_a_numerator_can_be_recovered() -> None:
    # 1% of 300 is 1.5 to 4.5 → 2, 3 or 4 students: all under 10, so it blocks.
    assert found([["Group", "N", "Pct"], ["A", 300, "1%"]]) == [("block", "back-calculation", "C2")]
    # 3% of 300 shown to whole percent is 7.5 to 10.5 → 8, 9 or 10: it could be 10, no block.
    assert found([["Group", "N", "Pct"], ["A", 300, "3%"]]) == []


def test_proportions_and_rates_per_thousand_are_read_by_their_header() -> None:
    assert found([["Group", "N", "Proportion"], ["A", 20, 0.25]]) == [
        ("block", "back-calculation", "C2")
    ]
    assert found([["Group", "Enrolled", "Rate per 1,000"], ["A", 2000, 2.5]]) == [
        ("block", "back-calculation", "C2")
    ]


def test_a_percentage_over_a_group_under_ten_blocks() -> None:
    assert ("block", "small-denominator", "C2") in found([["Group", "N", "% met"], ["A", 8, "50%"]])


def test_the_named_denominator_column_wins_over_the_largest_count() -> None:
    rows = [["Group", "Met", "Tested", "% met"], ["A", 30, 40, "75%"], ["B", 40, 12, "50%"]]
    # Row B: 50% of 12 tested is 6 students, though "Met" (40) is the larger number.
    assert ("block", "back-calculation", "D3") in found(rows)


def test_percentages_without_a_group_size_get_one_warning_per_column() -> None:
    rows = [["Group", "% met"], ["A", "30%"], ["B", "40%"]]
    assert found(rows) == [("warn", "no-denominator", "B2")]


def test_the_rest_of_a_group_under_ten_warns() -> None:
    assert found([["Group", "N", "% met"], ["A", 40, "95%"]]) == [("warn", "complement", "C2")]


def test_zeros_and_all_or_none_near_small_groups_warn_but_not_in_large_ones() -> None:
    rows = [
        ["Group", "N", "Met", "% met"],
        ["A", 12, 0, "0%"],  # a group under twice the threshold: warn both
        ["B", 500, 0, "0%"],  # a large group: nothing
    ]
    assert found(rows) == [("warn", "zero", "C2"), ("warn", "all-or-none", "D2")]


def test_a_policy_that_calls_zeros_disclosive_blocks_them() -> None:
    raw = {"name": "strict", "min_n": 5, "zeros_disclosive": True}
    rules = Rules.from_policy(policy_from_dict(raw))
    assert rules.threshold == 5
    assert found([["Group", "N"], ["A", 0], ["B", 7]], rules) == [("block", "zero", "B2")]


def test_the_rules_come_from_the_disclosure_policy() -> None:
    rules = Rules.from_policy(load_policy("ospi"))
    assert rules.threshold == 10
    assert "n<10" in rules.suppressed_labels


def test_suppressed_cells_are_what_we_want_and_pass() -> None:
    rows = [["Group", "N", "Met"], ["A", "N<10", "N<10"], ["B", "<10", "*"], ["C", 45, 20]]
    assert found(rows) == []


def test_labels_such_as_grade_and_year_are_not_counts() -> None:
    rows = [["Grade", "Year", "Students"], [3, 2019, 45], [4, 2019, 52]]
    assert found(rows) == []


def test_a_count_and_percentage_in_one_cell_is_read_as_the_count() -> None:
    assert found([["Group", "Met (%)"], ["A", "3 (30%)"]])[0][:2] == ("block", "small-count")


def test_a_mean_over_fewer_than_ten_blocks() -> None:
    rows = [["Group", "N", "Mean score"], ["A", 6, 412.5], ["B", 60, 398.1]]
    assert ("block", "small-denominator", "C2") in found(rows)


def test_one_group_dominating_a_magnitude_column_warns() -> None:
    rows = [
        ["District", "Students", "Total expenditure ($)"],
        ["Seaside", 300, "9,400,000"],
        ["Hilltop", 250, "300,000"],
        ["Valley", 280, "250,000"],
        ["Total", 830, "9,950,000"],
    ]
    findings = [f for f in check_table(table(rows)) if f.rule == "dominance"]
    assert [(f.severity, f.cell) for f in findings] == [(Severity.WARN, "C2")]
    assert "94%" in findings[0].message


def test_an_even_magnitude_column_and_a_mean_column_do_not_warn() -> None:
    rows = [["District", "Students", "Total hours", "Mean score"]]
    rows += [[f"D{i}", 100 + i, 1000 + i, 900 if i == 0 else 10] for i in range(5)]
    assert found(rows) == []


def test_two_header_rows_are_read_as_one() -> None:
    rows = [["", "Reading", "", "Math", ""], ["Group", "N", "% met", "N", "% met"], ["A", 10, "30%", 50, "50%"]]
    findings = check_table(table(rows))
    assert [(f.rule, f.cell) for f in findings] == [("back-calculation", "C3")]
    assert findings[0].column_label == "Reading % met"


@pytest.mark.parametrize("text", ["", "n/a", "Suppressed", "—", "footnote: see text"])
def test_text_cells_are_ignored(text: str) -> None:
    assert found([["Group", "N"], ["A", text], ["B", 45]]) == []
