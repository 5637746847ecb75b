"""factory-boy factories and `history_build`, shared by the tests and `bench/`.

The factories make valid rows one at a time (a department in a hospital in a region, a staff
member with a membership, a patient with a CPR number that is a real date). `history_build`
gives a patient years of record in bulk, as a migrated record arrives, so that the next app's
tests and benchmarks build volume in one line:

    history_build(patient, department=cardiology, author=doctor, courses=40, notes=300,
                  vitals=300, results=200)
"""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone

from accounts.models import User
from journal.models import Diagnosis, Note, NoteStatus, NoteType, SksCode, VitalSigns
from labresults.models import LabReport, LabResult
from organisation.models import Department, Hospital, Membership, Region, Role, StaffMember
from patients.models import CareCourse, Patient

FIRST_BIRTH = date(1940, 1, 1)


def cpr_for(n: int) -> tuple[str, date]:
    """The n-th CPR number of a run: a real birth date from 1940 on, a serial that keeps the
    1900s century (7th digit 0-3); not all pass modulus 11, as since 2007 they need not."""
    birth = FIRST_BIRTH + timedelta(days=n % 20000)
    serial = (n // 20000) % 4000
    return f"{birth:%d%m%y}{serial:04d}", birth


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    name = "Region Hovedstaden"
    code = "1084"


class HospitalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hospital

    region = factory.SubFactory(RegionFactory)
    name = factory.Sequence(lambda n: f"Hospital {n}")
    short_name = factory.Sequence(lambda n: f"H{n}")
    sor_code = factory.Sequence(lambda n: f"8{n:011d}")


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    hospital = factory.SubFactory(HospitalFactory)
    name = factory.Sequence(lambda n: f"Afdeling {n}")
    short_name = factory.Sequence(lambda n: f"A{n}")
    sor_code = factory.Sequence(lambda n: f"9{n:011d}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@test.sundhed.dk")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"Bruger{n}")
    password = factory.django.Password("factory-password-1")


class StaffMemberFactory(factory.django.DjangoModelFactory):
    """A staff member working in `department` (a membership from 2020) as the active one."""

    class Meta:
        model = StaffMember
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    role = Role.LAEGE
    authorisation_id = factory.Sequence(lambda n: f"F{n:04d}")

    @factory.post_generation
    def department(self, create, extracted, **kwargs):
        if not create:
            return
        staff: Any = self  # factory_boy calls this with the staff member made
        department: Any = extracted or DepartmentFactory()
        Membership.objects.create(staff=staff, department=department, valid_from=date(2020, 1, 1))
        staff.active_department = department
        staff.save(update_fields=["active_department"])


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    cpr = factory.Sequence(lambda n: cpr_for(n + 1)[0])
    birth_date = factory.Sequence(lambda n: cpr_for(n + 1)[1])
    sex = factory.LazyAttribute(lambda p: "M" if int(p.cpr[-1]) % 2 else "F")
    given_names = factory.Iterator(["Karen", "Jens", "Mette", "Lars", "Hanne", "Peter"])
    family_name = factory.Iterator(["Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen"])


class CareCourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CareCourse

    patient = factory.SubFactory(PatientFactory)
    department = factory.SubFactory(DepartmentFactory)
    kind = CareCourse.Kind.ADMISSION
    title = factory.Sequence(lambda n: f"Forløb {n}")
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=2))


# The analyses of `history_build`'s reports, in turn: a patient has many, as the planner must
# see (with one code in the whole table, every index on results looks alike to it).
HISTORY_ANALYSES = [
    ("NPU03429", "P-Natrium", "mmol/L", "137-145", Decimal(138)),
    ("NPU03230", "P-Kalium", "mmol/L", "3.5-4.4", Decimal("3.6")),
    ("NPU18016", "P-Kreatinin", "umol/L", "45-90", Decimal(60)),
    ("NPU02319", "B-Hæmoglobin", "mmol/L", "7.3-9.5", Decimal("7.5")),
    ("NPU19748", "P-C-reaktivt protein", "mg/L", "0-8", Decimal(1)),
]


def history_build(
    patient: Patient,
    *,
    department: Department,
    author: StaffMember,
    years: float = 1,
    courses: int = 1,
    notes: int = 0,
    vitals: int = 0,
    results: int = 0,
    diagnoses: bool = False,
) -> list[CareCourse]:
    """Give a patient `years` of record in bulk: courses (the newest one open), an action
    diagnosis per course (`diagnoses`), signed notes, vital signs and laboratory reports with
    one result each, of the analyses in `HISTORY_ANALYSES` in turn. Returns the courses."""
    now = timezone.now()
    span = timedelta(days=365 * years)
    step = span / max(courses, 1)
    made = CareCourse.objects.bulk_create(
        CareCourse(
            patient=patient,
            department=department,
            kind=CareCourse.Kind.ADMISSION,
            title=f"Forløb {i}",
            started_at=now - span + step * i,
            ended_at=None if i == courses - 1 else now - span + step * i + step / 2,
        )
        for i in range(courses)
    )

    if diagnoses:
        codes = list(SksCode.objects.order_by("code")[:50])
        Diagnosis.objects.bulk_create(
            Diagnosis(
                patient=patient,
                care_course=row,
                code=codes[i % len(codes)],
                kind="A",
                recorded_at=row.started_at,
                recorded_by=author,
            )
            for i, row in enumerate(made)
        )

    def at(i: int, count: int):
        return now - span + (span / max(count, 1)) * i

    def course(i: int, count: int):
        return made[min(i * len(made) // max(count, 1), len(made) - 1)] if made else None

    Note.objects.bulk_create(
        (
            Note(
                patient=patient,
                care_course=course(i, notes),
                department=department,
                note_type=NoteType.CONTINUATION,
                title=f"Kontinuationsnotat {i}",
                text="Patienten har det godt. Ingen smerter. Plan: fortsat observation.\n" * 5,
                status=NoteStatus.SIGNED,
                author=author,
                written_at=at(i, notes),
                signed_at=at(i, notes),
                signed_by=author,
            )
            for i in range(notes)
        ),
        batch_size=1000,
    )
    VitalSigns.objects.bulk_create(
        (
            VitalSigns(
                patient=patient,
                care_course=course(i, vitals),
                department=department,
                measured_at=at(i, vitals),
                recorded_by=author,
                respiration_rate=16,
                spo2=96,
                systolic=128,
                diastolic=78,
                pulse=72,
                temperature=Decimal("37.1"),
                consciousness="A",
                score=0,
                risk="low",
            )
            for i in range(vitals)
        ),
        batch_size=1000,
    )

    def analysis(i: int) -> tuple[str, str, str, str, Decimal]:
        code, name, unit, interval, low = HISTORY_ANALYSES[i % len(HISTORY_ANALYSES)]
        step = i // len(HISTORY_ANALYSES) % 6  # up to 5 % above the low end: all normal
        return code, name, unit, interval, (low * (100 + step) / 100).quantize(Decimal("0.1"))

    reports = LabReport.objects.bulk_create(
        (
            LabReport(
                patient=patient,
                sender="FACTORY@KBA",
                filler_order_number=f"{patient.cpr}-{i}",
                service_code=analysis(i)[0],
                service_name=analysis(i)[1],
                status="final",
                observed_at=at(i, results),
                reported_at=at(i, results),
                department=department,
                care_course=course(i, results),
            )
            for i in range(results)
        ),
        batch_size=1000,
    )
    LabResult.objects.bulk_create(
        (
            LabResult(
                report=report,
                patient=patient,
                code=analysis(i)[0],
                name=analysis(i)[1],
                coding_system="NPU",
                value_numeric=analysis(i)[4],
                value_text=str(analysis(i)[4]),
                unit=analysis(i)[2],
                reference_range=analysis(i)[3],
                status="final",
                observed_at=report.observed_at,
                arrived_at=report.created_at,
            )
            for i, report in enumerate(reports)
        ),
        batch_size=1000,
    )
    return made


def sign_in_with_second_factor(client, user) -> None:
    """Sign a test client in as allauth would after password and TOTP, without the forms."""
    import time

    from allauth.account.internal.flows.login import (
        _AUTHENTICATION_METHODS_USER_SESSION_KEY,
        AUTHENTICATION_METHODS_SESSION_KEY,
    )

    client.force_login(user)
    session = client.session
    now = time.time()
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": now, "username": user.username},
        {"method": "mfa", "at": now, "type": "totp"},
    ]
    session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
    session.save()
