"""Interpreting results with the catalogue: computed flags, critical values, the inbox item.

A sender's own abnormal flags win; when a laboratory sends none, or says normal, the reference
interval for the patient's sex and age at sampling decides. Critical limits are ours (the
hospital's), so they apply whatever the sender says, as do the sender's own LL/HH flags.
"""

import re
import time
from decimal import Decimal

from django.utils import timezone

from labresults.models import Analysis
from patients.models import Patient

# Our order numbers (LabOrder.placer_number): only those can match one of our orders.
OUR_ORDER_NUMBER = re.compile(r"S[0-9A-F]{11}")
ABNORMAL_FLAGS = frozenset({"L", "H", "LL", "HH", "A", "AA", "<", ">"})
CRITICAL_FLAGS = frozenset({"LL", "HH", "AA"})


# The catalogue is read again at most once a minute per worker process: it changes a few times
# a year, and reading it for every message cost a tenth of the processing time. An edit in admin
# reaches every worker within CATALOGUE_TTL.
CATALOGUE_TTL = 60.0
_catalogue: tuple[float, dict] = (0.0, {})


def catalogue_for(codes) -> dict[str, Analysis]:
    """The catalogue's analyses for these codes, with their intervals."""
    global _catalogue
    expires, analyses = _catalogue
    if time.monotonic() > expires:
        analyses = {a.code: a for a in Analysis.objects.prefetch_related("intervals")}
        _catalogue = (time.monotonic() + CATALOGUE_TTL, analyses)
    return {code: analyses[code] for code in set(codes) if code in analyses}


def catalogue_forget() -> None:
    """Read the catalogue again on next use (tests, and after a change in this process)."""
    global _catalogue
    _catalogue = (0.0, {})


def _interval(analysis: Analysis, patient: Patient, observed_at):
    """The reference interval for the patient's sex and age at sampling; remembered on the
    catalogue's analysis object (read again with the catalogue), as a batch asks it thousands
    of times for the same few sexes and ages."""
    day = timezone.localdate(observed_at) if observed_at else timezone.localdate()
    key = (patient.sex, patient.age(today=day))
    chosen = analysis.__dict__.setdefault("_intervals_by_sex_and_age", {})
    if key not in chosen:
        chosen[key] = analysis.interval_for(sex=key[0], age=key[1])
    return chosen[key]


def interpret(
    *,
    analysis: Analysis | None,
    value: Decimal | None,
    sender_flags: list[str],
    patient: Patient,
    observed_at,
) -> tuple[str, bool, bool]:
    """(flag, flag_computed, is_critical) for one value."""
    flags = [f.upper() for f in sender_flags if f and f.upper() != "N"]
    critical = bool(CRITICAL_FLAGS.intersection(flags))
    if analysis is not None and value is not None:
        if analysis.critical_low is not None and value < analysis.critical_low:
            critical = True
        if analysis.critical_high is not None and value > analysis.critical_high:
            critical = True
    if flags:
        return ",".join(flags)[:10], False, critical
    # The sender said normal (N) or nothing. A laboratory that flags by one interval for both
    # sexes calls Hb 7.6 normal for a man of 68, while the interval shown beside it (his, 8.3 to
    # 10.5) says low: our interval for the patient's sex and age at sampling decides then.
    if analysis is None or value is None:
        return "", False, critical
    interval = _interval(analysis, patient, observed_at)
    if interval is None:
        return "", False, critical
    if value < interval.low:
        return "L", True, critical
    if value > interval.high:
        return "H", True, critical
    return "", True, critical
