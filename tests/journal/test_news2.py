"""NEWS2 as the Royal College of Physicians publishes it (SpO₂ scale 1)."""

from decimal import Decimal

import pytest

from journal.news2 import news2

NORMAL = {
    "respiration_rate": 16,
    "spo2": 97,
    "on_oxygen": False,
    "systolic": 125,
    "pulse": 72,
    "consciousness": "A",
    "temperature": Decimal("37.0"),
}


def test_a_healthy_adult_scores_zero_and_low_risk():
    score = news2(**NORMAL)
    assert (score.total, score.risk) == (0, "low")


@pytest.mark.parametrize(
    "field, value, points",
    [
        ("respiration_rate", 8, 3),
        ("respiration_rate", 9, 1),
        ("respiration_rate", 11, 1),
        ("respiration_rate", 12, 0),
        ("respiration_rate", 20, 0),
        ("respiration_rate", 21, 2),
        ("respiration_rate", 24, 2),
        ("respiration_rate", 25, 3),
        ("spo2", 91, 3),
        ("spo2", 92, 2),
        ("spo2", 93, 2),
        ("spo2", 94, 1),
        ("spo2", 95, 1),
        ("spo2", 96, 0),
        ("systolic", 90, 3),
        ("systolic", 91, 2),
        ("systolic", 100, 2),
        ("systolic", 101, 1),
        ("systolic", 110, 1),
        ("systolic", 111, 0),
        ("systolic", 219, 0),
        ("systolic", 220, 3),
        ("pulse", 40, 3),
        ("pulse", 41, 1),
        ("pulse", 50, 1),
        ("pulse", 51, 0),
        ("pulse", 90, 0),
        ("pulse", 91, 1),
        ("pulse", 110, 1),
        ("pulse", 111, 2),
        ("pulse", 130, 2),
        ("pulse", 131, 3),
        ("temperature", Decimal("35.0"), 3),
        ("temperature", Decimal("35.1"), 1),
        ("temperature", Decimal("36.0"), 1),
        ("temperature", Decimal("36.1"), 0),
        ("temperature", Decimal("38.0"), 0),
        ("temperature", Decimal("38.1"), 1),
        ("temperature", Decimal("39.0"), 1),
        ("temperature", Decimal("39.1"), 2),
        ("consciousness", "C", 3),
        ("consciousness", "V", 3),
        ("consciousness", "U", 3),
        ("on_oxygen", True, 2),
    ],
)
def test_each_parameter_scores_at_the_published_thresholds(field, value, points):
    score = news2(**{**NORMAL, field: value})
    assert score.parts[field] == points
    assert score.total == points


def test_a_single_red_parameter_is_low_medium_risk():
    assert news2(**{**NORMAL, "consciousness": "C"}).risk == "low_medium"


def test_five_is_medium_and_seven_is_high():
    medium = news2(**{**NORMAL, "respiration_rate": 22, "pulse": 115, "spo2": 95})
    assert (medium.total, medium.risk) == (5, "medium")
    high = news2(**{**NORMAL, "respiration_rate": 26, "pulse": 115, "systolic": 95})
    assert (high.total, high.risk) == (7, "high")
