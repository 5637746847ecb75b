"""Structured dosage (medicinkort/dosage.py), as FMK models it: one structure gives the dose
text and every due dose of the stay; a test per pattern, bad input named by its field, and
FMK's own structures read into it."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from lxml import etree

from medicinkort.dosage import Dosage, Dose, Period, from_fmk
from medicinkort.services.orders import dosage_propose

START = date(2026, 12, 7)  # a Monday
UNITS = {"unit_singular": "tablet", "unit_plural": "tabletter"}


def due(dosage: Dosage, days: int) -> list[tuple[str, Decimal]]:
    first = timezone.make_aware(datetime(2026, 12, 7))
    last = first + timedelta(days=days) - timedelta(minutes=1)
    return [(f"{timezone.localtime(at):%a %H:%M}", q) for at, q in dosage.due(first, last)]


@pytest.mark.parametrize(
    ("text", "times"),
    [
        ("1 tablet x 1", ["08:00"]),
        ("1 tablet x 2", ["08:00", "18:00"]),
        ("400 mg x 3", ["08:00", "14:00", "20:00"]),
        ("2 tabletter 4 gange dagligt", ["08:00", "12:00", "18:00", "22:00"]),
    ],
)
def test_n_times_a_day_is_n_doses_every_day_of_the_stay(text, times):
    dosage = dosage_propose(text, start=START, **UNITS)
    doses = due(dosage, 3)
    assert doses[: len(times)] == [(f"Mon {t}", doses[0][1]) for t in times]
    assert len(doses) == 3 * len(times)  # every day, the whole stay
    assert not dosage.problems()


def test_the_quantity_is_the_number_the_text_starts_with():
    assert dosage_propose("2 tabletter x 3", start=START, **UNITS).periods[0].doses[0] == Dose(
        Decimal(2), "08:00"
    )
    assert dosage_propose("400 mg x 3", start=START).periods[0].doses[0].quantity == 1


def test_every_other_day_and_weekly_give_doses_on_their_days_only():
    other = dosage_propose("1 tablet hver anden dag", start=START, **UNITS)
    assert [d for d, _ in due(other, 6)] == ["Mon 08:00", "Wed 08:00", "Fri 08:00"]
    assert other.text() == "1 tablet kl. 08:00 hver anden dag"
    weekly = dosage_propose("15 mg ugentligt", start=START + timedelta(days=3), **UNITS)
    assert [d for d, _ in due(weekly, 21)] == ["Thu 08:00"] * 3  # the 10th, 17th and 24th
    assert "én gang om ugen" in weekly.text()


def test_as_needed_has_no_due_doses_and_says_the_most_a_day():
    pn = dosage_propose("1 tablet efter behov", start=START, pn_max=4, **UNITS)
    assert pn.as_needed and due(pn, 3) == []
    assert pn.text() == "1 tablet efter behov, højst 4 gange i døgnet"
    assert not pn.problems()


def test_a_taper_over_days_steps_down_and_ends():
    taper = dosage_propose("prednisolon", start=START, times=["08:00"],
                           taper="3 dage: 2; 2 dage: 1", **UNITS)  # fmt: skip
    assert [q for _, q in due(taper, 8)] == [2, 2, 2, 1, 1]  # nothing after the last step
    assert taper.text() == (
        "fra 07.12.: 2 tabletter kl. 08:00 daglig; fra 10.12.: 1 tablet kl. 08:00 daglig"
    )


def test_bad_input_is_named_by_its_field():
    pn = dosage_propose("1 tablet efter behov", start=START, **UNITS)
    assert set(pn.problems()) == {"pn_max_per_day"}  # PN without a maximum
    backwards = dosage_propose("1 tablet x 1", start=START, end=START - timedelta(days=1))
    assert set(backwards.problems()) == {"end"}
    overlapping = Dosage(periods=(
        Period(start=START, end=START + timedelta(days=3), doses=(Dose(Decimal(2), "08:00"),)),
        Period(start=START + timedelta(days=2), end=START + timedelta(days=5),
               doses=(Dose(Decimal(1), "08:00"),)),
    ))  # fmt: skip
    assert set(overlapping.problems()) == {"taper"}
    with pytest.raises(ValidationError):
        dosage_propose("x", start=START, taper="ned om lidt")
    assert set(Dosage(periods=(Period(start=START, doses=(Dose(Decimal(0), "8"),)),))
               .problems()) == {"quantity", "times"}  # fmt: skip


def test_the_structure_survives_being_stored():
    taper = dosage_propose("x", start=START, times=["08:00", "20:00"], taper="2 dage: 2; 2 dage: 1")
    assert Dosage.from_json(taper.to_json()) == taper


def test_fmks_recorded_structures_are_read_into_the_structure():
    """The recorded card of FMK's test person 1011649927 (vendored with fmksim): a fixed
    structure '2 tabletter 3 gange daglig' (three doses of 2, no times) and what else it has."""
    recorded = Path(__file__).parents[2] / "simulators/fmksim/recorded/medicine-card-1011649927.xml"
    root = etree.parse(str(recorded)).getroot()
    read = [from_fmk(d) for d in root.iter("{*}Dosage")]
    structures = [d for d in read if d is not None]
    assert structures, "no structure read"
    three = [d for d in structures if d.periods and len(d.periods[0].doses) == 3]
    assert three and three[0].periods[0].doses[0].quantity == 2
    assert three[0].periods[0].times() == ["08:00", "14:00", "20:00"]
    assert three[0].unit_plural == "tabletter"
    # A free text is not a structure: it stays text.
    assert from_fmk(etree.fromstring(
        "<Dosage><FreeText><Text>efter aftale</Text></FreeText></Dosage>")) is None  # fmt: skip


def test_the_dose_text_says_one_dose_and_several_days_of_a_week_in_danish():
    one = Dosage(periods=(Period(start=START, doses=(Dose(Decimal(1)),)),), **UNITS)
    assert one.text() == "1 tablet 1 gang daglig"
    period = Period(start=START, every_days=7, days=(1, 4), doses=(Dose(Decimal(1), "08:00"),))
    twice_weekly = Dosage(periods=(period,), **UNITS)
    assert twice_weekly.text() == "1 tablet kl. 08:00 2 dage hver 7. dag (dag 1, 4)"
    assert [d for d, _ in due(twice_weekly, 7)] == ["Mon 08:00", "Thu 08:00"]


def test_what_fmk_would_refuse_or_what_cannot_be_is_named_before_it_is_sent():
    def problems(**period) -> set:
        values = {"start": START, "doses": (Dose(Decimal(1), "08:00"),)} | period
        return set(Dosage(periods=(Period(**values),)).problems())

    assert problems(every_days=0) == {"every_days"}
    assert problems(start=date(1999, 12, 31)) == {"start"}
    assert problems(end=START + timedelta(days=4000)) == {"end"}
    assert problems(doses=(Dose(Decimal("1E-10"), "08:00"),)) == {"quantity"}
    eleven = tuple(Period(start=START + timedelta(days=i), end=START + timedelta(days=i),
                          doses=(Dose(Decimal(1), "08:00"),)) for i in range(11))  # fmt: skip
    assert set(Dosage(periods=eleven).problems()) == {"taper"}
    with pytest.raises(ValidationError) as refused:
        dosage_propose("x", start=START, taper="99999999 dage: 2; 1 dage: 1")
    assert "taper" in refused.value.message_dict


def test_quantities_go_to_fmk_as_plain_digits():
    from medicinkort.dosage import fmk_quantity

    assert [fmk_quantity(Decimal(v)) for v in ("1E+3", "0.50", "2", "2.000")] == [
        "1000", "0.5", "2", "2"
    ]  # fmt: skip


@pytest.mark.parametrize(
    "inner",
    [
        "<Structure><NotIterated/><StartDate>2025-01-01</StartDate><DosageEndingUndetermined/>"
        "<Day><Number>1</Number><Dose><Quantity>1</Quantity></Dose></Day></Structure>",
        "<Structure><IterationInterval>1</IterationInterval><StartDate>2025-01-01</StartDate>"
        "<DosageEndingUndetermined/><Day><Number>1</Number><Dose><MinimalQuantity>1"
        "</MinimalQuantity><MaximalQuantity>2</MaximalQuantity></Dose></Day></Structure>",
        "<Structure><IterationInterval>1</IterationInterval><StartDate>2025-01-01</StartDate>"
        "<DosageEndingUndetermined/><AnyDay><Dose><Quantity>1</Quantity></Dose></AnyDay>"
        "</Structure>",
    ],
)
def test_fmk_structures_that_the_structure_cannot_hold_stay_text(inner):
    """A one-off day, a range "1-2 tabletter", doses on any day: read as FMK's text, never
    guessed into a daily order."""
    assert (
        from_fmk(etree.fromstring(f"<Dosage><StructuresFixed>{inner}</StructuresFixed></Dosage>"))
        is None
    )


def test_fixed_and_as_needed_together_stay_text():
    part = ("<Structure><IterationInterval>1</IterationInterval><StartDate>2025-01-01</StartDate>"
            "<DosageEndingUndetermined/><Day><Number>1</Number><Dose><Quantity>1</Quantity></Dose>"
            "</Day></Structure>")  # fmt: skip
    fixed = f"<StructuresFixed>{part}</StructuresFixed>"
    needed = f"<StructuresAccordingToNeed>{part}</StructuresAccordingToNeed>"
    both = f"<Dosage>{fixed}{needed}</Dosage>"
    assert from_fmk(etree.fromstring(both)) is None


@pytest.mark.django_db
def test_a_rhythm_or_taper_counts_from_its_first_day_and_a_daily_order_from_now():
    from medicinkort.services.orders import OrderData, _period_of

    today = timezone.localdate()
    midnight = timezone.make_aware(datetime.combine(today, datetime.min.time()))
    weekly = dosage_propose("1 tablet ugentligt", start=today, times=["08:00"], **UNITS)
    starts, ends = _period_of(OrderData(None, "x", "", "", dosage=weekly))
    assert (starts, ends) == (midnight, None)  # today's dose is due, not skipped for a week
    taper = dosage_propose("x", start=today, times=["08:00"], taper="1 dage: 2; 1 dage: 1")
    starts, ends = _period_of(OrderData(None, "x", "", "", dosage=taper))
    assert starts == midnight and ends == midnight + timedelta(days=2)
    daily = dosage_propose("1 tablet x 3", start=today, **UNITS)
    starts, _ = _period_of(OrderData(None, "x", "", "", dosage=daily))
    assert starts > midnight  # now: the day's earlier times are not meant
