"""CPR rules, table-driven: date and century, modulus 11 only a note, replacement numbers."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from patients.cpr import century_for, format_cpr, looks_like_cpr, parse_cpr, passes_modulus11


@pytest.mark.parametrize(
    ("raw", "value", "birth_date", "sex", "modulus11"),
    [
        ("070761-4048", "0707614048", date(1961, 7, 7), "F", True),
        ("0707614048", "0707614048", date(1961, 7, 7), "F", True),
        (" 070761 4048 ", "0707614048", date(1961, 7, 7), "F", True),
        ("010100-4001", "0101004001", date(2000, 1, 1), "M", False),  # 7th digit 4, year <= 36
        ("010137-4001", "0101374001", date(1937, 1, 1), "M", False),  # 7th digit 4, year > 36
        ("010157-5001", "0101575001", date(2057, 1, 1), "M", False),  # 5-8 and year <= 57
        ("010158-5001", "0101585001", date(1858, 1, 1), "M", False),  # 5-8 and year > 57
        ("010120-9002", "0101209002", date(2020, 1, 1), "F", False),  # 9 and year <= 36
        ("010190-9002", "0101909002", date(1990, 1, 1), "F", False),  # 9 and year > 36
        ("290200-4002", "2902004002", date(2000, 2, 29), "F", False),  # leap day, year 2000
    ],
)
def test_it_reads_valid_numbers(raw, value, birth_date, sex, modulus11):
    cpr = parse_cpr(raw)
    assert (cpr.value, cpr.birth_date, cpr.sex, cpr.passes_modulus11) == (
        value,
        birth_date,
        sex,
        modulus11,
    )
    assert cpr.formatted == f"{value[:6]}-{value[6:]}"
    assert not cpr.is_replacement


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "cpr_format"),
        ("12345", "cpr_format"),
        ("070761-40481", "cpr_format"),
        ("07076l-4285", "cpr_format"),
        ("320161-4285", "cpr_date"),  # day 32
        ("071361-4285", "cpr_date"),  # month 13
        ("290201-1234", "cpr_date"),  # 29 February 1901 did not exist
        ("290200-1234", "cpr_date"),  # 1900 was not a leap year (7th digit 1 → 1900s)
        ("000000-0000", "cpr_date"),
    ],
)
def test_it_rejects_what_is_not_a_cpr_number(raw, code):
    with pytest.raises(ValidationError) as error:
        parse_cpr(raw)
    assert error.value.code == code


def test_a_failing_modulus11_check_is_no_reason_to_reject():
    cpr = parse_cpr("010190-9002")
    assert not passes_modulus11(cpr.value)
    assert cpr.birth_date == date(1990, 1, 1)


def test_replacement_numbers_are_accepted_and_marked():
    cpr = parse_cpr("010190-A123")
    assert cpr.is_replacement
    assert cpr.sex == "U"
    assert cpr.value == "010190A123"
    assert cpr.birth_date == date(1990, 1, 1)


@pytest.mark.parametrize(
    ("year2", "digit7", "century"),
    [(99, 0, 1900), (0, 3, 1900), (36, 4, 2000), (37, 4, 1900), (57, 8, 2000), (58, 8, 1800)],
)
def test_the_century_follows_the_seventh_digit(year2, digit7, century):
    assert century_for(year2, digit7) == century


def test_search_text_is_recognised_as_a_cpr_number():
    assert looks_like_cpr("070761-4048") and looks_like_cpr("0707614048")
    assert not looks_like_cpr("Jensen") and not looks_like_cpr("7.7.1961")
    assert format_cpr("0707614048") == "070761-4048"
