"""Answer comparison of the benchmark harness."""

from __future__ import annotations

from decimal import Decimal

from storagedb.bench.answers import compare, known_answer_problems


def test_exact_numbers_must_be_equal():
    assert compare(Decimal("1.10"), Decimal("1.1")) == []
    assert compare(3, Decimal("3.00")) == []
    assert compare(Decimal("11803420.2534"), Decimal("11803420.2535")) == [
        "answer: expected Decimal('11803420.2534'), found Decimal('11803420.2535')"
    ]


def test_float_side_uses_relative_tolerance():
    assert compare(Decimal("11803420.2534"), 11803420.25340003) == []
    assert compare(Decimal("11803420.2534"), 11803420.2550) != []


def test_strings_and_types_must_match():
    assert compare("A", "A") == []
    assert compare("A", "B") == ["answer: expected 'A', found 'B'"]
    assert compare(1, "1") == ["answer: expected 1, found '1'"]


def test_nested_difference_names_its_position():
    expected = [("A", "F", 10), ("N", "O", 20)]
    found = [("A", "F", 10), ("N", "O", 21)]
    assert compare(expected, found, "q1") == ["q1[1][2]: expected 20, found 21"]


def test_length_difference_reported():
    problems = compare([1, 2], [1])
    assert problems and "expected 2 items, found 1" in problems[0]


def test_none_equals_only_none():
    assert compare(None, None) == []
    assert compare(None, 0) != []


def test_known_q6_answer_at_scale_0_1():
    assert known_answer_problems(0.1, "q6", Decimal("11803420.2534")) == []
    assert known_answer_problems(0.1, "q6", Decimal("11803420.2533")) != []


def test_known_q1_counts_at_scale_0_1():
    rows = [("A", "F", 147790), ("N", "F", 3765), ("N", "O", 292000), ("R", "F", 148301)]
    assert known_answer_problems(0.1, "q1", rows) == []
    rows[2] = ("N", "O", 291999)
    assert known_answer_problems(0.1, "q1", rows) != []


def test_no_known_answers_at_other_scales():
    assert known_answer_problems(0.01, "q6", Decimal(1)) == []
