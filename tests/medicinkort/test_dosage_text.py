"""A dosage as Danish clinicians write it becomes the times the MAR asks for: "400 mg x 3" is
three doses a day, never one at 08:00; a rhythm that is not daily is never a daily order."""

import pytest
from django.core.exceptions import ValidationError

from medicinkort.services.orders import times_from_text

THREE = ["08:00", "14:00", "20:00"]


@pytest.mark.parametrize(
    ("text", "schedule", "times"),
    [
        ("1 tablet dagligt", "fixed", ["08:00"]),
        ("1 gang dagligt", "fixed", ["08:00"]),
        ("500 mg x 2", "fixed", ["08:00", "18:00"]),
        ("to gange dagligt", "fixed", ["08:00", "18:00"]),
        ("1 tablet morgen og aften", "fixed", ["08:00", "18:00"]),
        ("400 mg x 3", "fixed", THREE),
        ("400 mg x3", "fixed", THREE),
        ("1 tablet 3 gange dagligt", "fixed", THREE),
        ("tre gange daglig", "fixed", THREE),
        ("1 kapsel 3 x dagligt", "fixed", THREE),
        ("3x1", "fixed", THREE),
        ("2 tabletter 4 gange daglig", "fixed", ["08:00", "12:00", "18:00", "22:00"]),
        ("1 g x 4", "fixed", ["08:00", "12:00", "18:00", "22:00"]),
        ("hver 6. time", "fixed", ["00:00", "06:00", "12:00", "18:00"]),
        ("hver 8 timer", "fixed", ["00:00", "08:00", "16:00"]),
        ("1 tablet efter behov, højst 4 gange i døgnet", "pn", []),
        ("2 x 500 mg", "fixed", ["08:00"]),  # two of 500 mg, once
    ],
)
def test_a_dosage_text_gives_its_times_of_day(text, schedule, times):
    assert times_from_text(text) == (schedule, times)


@pytest.mark.parametrize(
    "text", ["15 mg ugentligt", "1 tablet hver anden dag", "1 injektion om måneden", "7,5 mg /uge"]
)
def test_a_rhythm_that_is_not_daily_is_refused_not_made_daily(text):
    with pytest.raises(ValidationError):
        times_from_text(text)
