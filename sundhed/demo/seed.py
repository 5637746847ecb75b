"""The demo data of `make run`, built once and deterministically.

A region with two hospitals and eight departments, forty staff members (named demo logins for
each role), 2,000 patients with Danish names, addresses and valid CPR numbers, their care courses
and CAVE entries. Other apps add history through `EXTRA_SEEDERS`.
"""

import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from labresults.models import FhirSource, MllpSender
from organisation.models import Department, Hospital, Membership, Region, Role, StaffMember
from patients.cpr import century_for, parse_cpr, passes_modulus11
from patients.models import CareCourse, CaveEntry, Patient
from sundhed.demo import names

DEMO_PASSWORD = "sundhed-demo"  # noqa: S105 - printed by make run; development only
SEED = 20261124
LABSIM_FHIR_URL = "http://127.0.0.1:25751/fhir"

# Callables (rng, patients, staff) that other apps' demo history adds after the core.
EXTRA_SEEDERS: list[Callable] = []


@dataclass(frozen=True)
class DemoLogin:
    """One demo login as printed by make run."""

    username: str
    role: str
    where: str


HOSPITALS = [
    ("Rigshospitalet", "RH", "3800010000016"),
    ("Bispebjerg og Frederiksberg Hospital", "BFH", "3800020000012"),
]
# (hospital short name, name, short name, SOR code, kind)
DEPARTMENTS = [
    ("RH", "Hjertemedicinsk Klinik", "KAR", "380001100001", Department.Kind.WARD),
    ("RH", "Ortopædkirurgisk Klinik", "ORT", "380001100002", Department.Kind.WARD),
    ("RH", "Akutmodtagelsen", "AKM", "380001100003", Department.Kind.EMERGENCY),
    ("RH", "Klinisk Biokemisk Afdeling", "KBA", "380001100004", Department.Kind.LABORATORY),
    ("RH", "Børne- og Ungeklinikken", "BOR", "380001100005", Department.Kind.WARD),
    ("BFH", "Medicinsk Afdeling M", "MED", "380002100001", Department.Kind.WARD),
    ("BFH", "Geriatrisk Ambulatorium", "GER", "380002100002", Department.Kind.OUTPATIENT),
    ("BFH", "Radiologisk Afdeling", "RAD", "380002100003", Department.Kind.RADIOLOGY),
    ("BFH", "Hospitalsledelsen", "ADM", "380002100004", Department.Kind.ADMINISTRATION),
]
# Named demo logins: (username, first, last, role, title, department short name, extra)
NAMED_STAFF = [
    ("laege", "Mette", "Kragh", Role.LAEGE, "Overlæge", "KAR", {"is_access_reviewer": False}),
    ("laege2", "Søren", "Vinther", Role.LAEGE, "Afdelingslæge", "ORT", {}),
    ("reservelaege", "Ida", "Bech", Role.LAEGE, "Reservelæge", "KAR", {"requires_cosign": True}),
    ("sygeplejerske", "Hanne", "Dalgaard", Role.SYGEPLEJERSKE, "Sygeplejerske", "KAR", {}),
    ("sekretaer", "Lone", "Brandt", Role.SEKRETAER, "Lægesekretær", "MED", {}),
    ("bioanalytiker", "Rikke", "Toft", Role.BIOANALYTIKER, "Bioanalytiker", "KBA", {}),
    ("administrator", "Per", "Lindholm", Role.ADMINISTRATOR, "IT-koordinator", "ADM", {}),
    (
        "revisor",
        "Birgit",
        "Falk",
        Role.LAEGE,
        "Ledende overlæge",
        "MED",
        {"is_access_reviewer": True},
    ),
]
CLINICAL_TITLES = {
    Role.LAEGE: ["Overlæge", "Afdelingslæge", "1. reservelæge", "Reservelæge"],
    Role.SYGEPLEJERSKE: ["Sygeplejerske", "Specialsygeplejerske", "Afdelingssygeplejerske"],
    Role.SEKRETAER: ["Lægesekretær"],
    Role.BIOANALYTIKER: ["Bioanalytiker"],
}
COURSE_TITLES = {
    "KAR": ["Atrieflimren", "Hjertesvigt", "Brystsmerter til udredning", "AKS, NSTEMI"],
    "ORT": ["Hoftenær fraktur", "Knæalloplastik", "Underarmsfraktur", "Diskusprolaps"],
    "AKM": ["Faldtraume", "Mavesmerter", "Åndenød", "Feber uden fokus"],
    "MED": ["Pneumoni", "KOL i exacerbation", "Urinvejsinfektion", "Dehydrering"],
    "GER": ["Faldudredning", "Kognitiv udredning", "Polyfarmaci", "Funktionstab"],
    "RAD": ["CT-skanning af thorax", "MR af columna lumbalis", "Røntgen af hofte"],
    "BOR": [
        "Astma, akut forværring",
        "RS-virus, bronkiolitis",
        "Gastroenteritis med dehydrering",
        "Feberkramper",
        "Pneumoni hos barn",
    ],
}
# Children (under 18) are seen only in the paediatric clinic, adults never there.
PAEDIATRIC = "BOR"
ADULT_AGE = 18
CAVE_CHOICES = [
    ("Penicillin", "J01CE", "Udslæt og kløe", CaveEntry.Severity.HIGH),
    ("Penicillin", "J01CE", "Anafylaksi", CaveEntry.Severity.LIFE_THREATENING),
    ("Ibuprofen", "M01AE01", "Astmaanfald", CaveEntry.Severity.HIGH),
    ("Sulfonamider", "J01E", "Udslæt", CaveEntry.Severity.LOW),
    ("Morfin", "N02AA01", "Kvalme og opkastning", CaveEntry.Severity.LOW),
    ("Codein", "R05DA04", "Svær forstoppelse", CaveEntry.Severity.LOW),
    ("Jodholdigt kontraststof", "V08A", "Urticaria", CaveEntry.Severity.HIGH),
    ("Latex", "", "Kontakteksem", CaveEntry.Severity.LOW),
    ("Jordnødder", "", "Anafylaksi", CaveEntry.Severity.LIFE_THREATENING),
    ("Hvepsestik", "", "Anafylaksi", CaveEntry.Severity.LIFE_THREATENING),
]
CAVE_OTHER = [
    ("Pacemaker: ikke MR uden afklaring", CaveEntry.Severity.HIGH),
    ("Vanskelig luftvej ved intubation", CaveEntry.Severity.HIGH),
    ("AK-behandling med warfarin", CaveEntry.Severity.HIGH),
]


def demo_logins() -> list[DemoLogin]:
    """The named demo logins, one per role, as make run prints them."""
    departments = (
        dict(Department.objects.values_list("short_name", "name"))
        if Region.objects.exists()
        else {}
    )
    logins = [DemoLogin("admin", "superuser (Django admin)", "")]
    for username, _first, _last, role, title, department, _extra in NAMED_STAFF:
        logins.append(
            DemoLogin(
                username, f"{Role(role).label}, {title}", departments.get(department, department)
            )
        )
    logins.append(DemoLogin("patient", "patient (Min Sundhedsplatform)", ""))
    return logins


def _cpr_for(rng: random.Random, birth: date, sex: str, taken: set, *, modulus11: bool) -> str:
    """A CPR number for a birth date and sex, unique among `taken`."""
    year2 = birth.year % 100
    digits7 = [d for d in range(10) if century_for(year2, d) == birth.year - year2]
    head = birth.strftime("%d%m%y")
    for _ in range(10_000):
        serial = f"{rng.choice(digits7)}{rng.randrange(1000):03d}"
        value = head + serial
        if (int(value[-1]) % 2 == 0) != (sex == "F"):
            continue
        if value in taken or passes_modulus11(value) != modulus11:
            continue
        parse_cpr(value)  # the demo data obeys the same rules as everyone else
        taken.add(value)
        return value
    raise RuntimeError(f"no free CPR number for {birth}")


def _replacement_cpr(rng: random.Random, birth: date, taken: set) -> str:
    while True:
        value = birth.strftime("%d%m%y") + rng.choice("ABCDEFGHJK") + f"{rng.randrange(1000):03d}"
        if value not in taken:
            taken.add(value)
            return value


def _build_organisation():
    region = Region.objects.create(name="Region Hovedstaden", code="1084")
    hospitals = {
        short: Hospital.objects.create(region=region, name=name, short_name=short, sor_code=sor)
        for name, short, sor in HOSPITALS
    }
    return {
        short: Department.objects.create(
            hospital=hospitals[hospital], name=name, short_name=short, sor_code=sor, kind=kind
        )
        for hospital, name, short, sor, kind in DEPARTMENTS
    }


def _build_staff(rng: random.Random, departments: dict) -> list[StaffMember]:
    user_model = get_user_model()
    password = make_password(DEMO_PASSWORD)
    people = []
    for username, first, last, role, title, department, extra in NAMED_STAFF:
        people.append((username, first, last, role, title, [department], extra))
    clinical = [d for d in departments if d not in {"ADM", "KBA", "RAD"}]
    roles = [Role.LAEGE] * 14 + [Role.SYGEPLEJERSKE] * 13 + [Role.SEKRETAER] * 3
    roles += [Role.BIOANALYTIKER] * 2
    for number, role in enumerate(roles):
        sex_names = names.FEMALE_NAMES if number % 2 else names.MALE_NAMES
        first, last = rng.choice(sex_names), rng.choice(names.FAMILY_NAMES)
        if role == Role.BIOANALYTIKER:
            homes = ["KBA"]
        else:
            homes = rng.sample(clinical, 2 if number % 5 == 0 else 1)
        title = rng.choice(CLINICAL_TITLES[role])
        people.append((f"staff{number + 1:02d}", first, last, role, title, homes, {}))
    staff_members = []
    for index, (username, first, last, role, title, homes, extra) in enumerate(people):
        user = user_model.objects.create(
            username=username,
            first_name=first,
            last_name=last,
            password=password,
            email=f"{username}@demo.sundhed.invalid",
            is_staff=role == Role.ADMINISTRATOR,
        )
        needs_id = role in {Role.LAEGE, Role.SYGEPLEJERSKE, Role.BIOANALYTIKER}
        member = StaffMember.objects.create(
            user=user,
            role=role,
            title=title,
            authorisation_id=f"{index + 1:03d}{rng.choice('BCDFGHJKLMNPQRSTVXZ')}{index % 10}"
            if needs_id
            else "",
            requires_cosign=extra.get("requires_cosign", title == "Reservelæge"),
            is_access_reviewer=extra.get("is_access_reviewer", False),
            active_department=departments[homes[0]],
        )
        for home in homes:
            Membership.objects.create(
                staff=member, department=departments[home], valid_from=date(2020, 1, 1)
            )
        staff_members.append(member)
    if user_model.objects.filter(username="administrator").exists():
        # The administrator manages the organisation in Django admin.
        from django.contrib.auth.models import Permission

        admin_user = user_model.objects.get(username="administrator")
        # Not the right to change rights: that is its own permission (accounts.administer_access),
        # given by a superuser to whoever administers access, never by anyone to themselves.
        admin_user.user_permissions.set(
            Permission.objects.filter(
                content_type__app_label__in=["organisation", "audit", "accounts"]
            ).exclude(codename="administer_access")
        )
    return staff_members


def _build_patients(rng: random.Random, count: int, departments: dict, staff: list) -> list:
    taken: set = set()
    today = timezone.localdate()
    rows = []
    for number in range(count):
        sex = "F" if rng.random() < 0.52 else "M"
        first_names = names.FEMALE_NAMES if sex == "F" else names.MALE_NAMES
        age_days = int(rng.triangular(0, 98 * 365, 70 * 365))
        birth = today - timedelta(days=age_days)
        if number % 400 == 399:
            cpr, replacement, sex = _replacement_cpr(rng, birth, taken), True, "U"
        else:
            cpr = _cpr_for(rng, birth, sex, taken, modulus11=number % 10 != 0)
            replacement = False
        street, postcode, city = rng.choice(names.STREETS)
        middle = rng.choice(names.FEMALE_MIDDLE_NAMES if sex == "F" else names.MALE_MIDDLE_NAMES)
        given = f"{rng.choice(first_names)} {middle}".strip()
        rows.append(
            Patient(
                cpr=cpr,
                is_replacement_cpr=replacement,
                given_names=given,
                family_name=rng.choice(names.FAMILY_NAMES),
                birth_date=birth,
                sex=sex,
                address_line=f"{street} {rng.randint(1, 180)}",
                postcode=postcode,
                city=city,
                phone=f"+45{rng.randint(20, 99)}{rng.randint(100000, 999999)}",
                gp_name=rng.choice(names.GP_PRACTICES),
                protected_address=rng.random() < 0.01,
            )
        )
    patients = Patient.objects.bulk_create(rows, batch_size=500)

    by_department: dict = {}
    for member in staff:
        if member.role == Role.LAEGE:
            by_department.setdefault(member.active_department.short_name, []).append(member)
    adult = [s for s in COURSE_TITLES if s in departments and s != PAEDIATRIC]
    now = timezone.now()
    courses, caves = [], []

    def clinics(at) -> list[str]:
        """Where the patient is seen at that time: a child in the paediatric clinic only."""
        born = patient.birth_date or today - timedelta(days=ADULT_AGE * 366)  # none: an adult
        child = (at.date() - born).days < ADULT_AGE * 365.25
        return [PAEDIATRIC] if child and PAEDIATRIC in departments else adult

    for index, patient in enumerate(patients):
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            # Never before the patient was born.
            lived = max((today - (patient.birth_date or today)).days - 1, 41)
            started = now - timedelta(days=rng.randint(40, min(8 * 365, lived)),
                                      hours=rng.randint(0, 23))  # fmt: skip
            short = rng.choice(clinics(started))
            courses.append(
                _course(
                    rng,
                    patient,
                    departments[short],
                    short,
                    by_department,
                    started,
                    started + timedelta(days=rng.randint(1, 30)),
                )
            )
        # About one in twelve is in a course now, spread over the clinical departments.
        if index % 12 == 0:
            clinical = clinics(now)
            short = clinical[(index // 12) % len(clinical)]
            started = now - timedelta(days=rng.randint(0, 20), hours=rng.randint(0, 23))
            courses.append(
                _course(rng, patient, departments[short], short, by_department, started, None)
            )
        if rng.random() < 0.2:
            substance, atc, reaction, severity = rng.choice(CAVE_CHOICES)
            caves.append(
                CaveEntry(
                    patient=patient,
                    kind=CaveEntry.Kind.ALLERGY,
                    substance=substance,
                    atc_code=atc,
                    reaction=reaction,
                    severity=severity,
                    source=rng.choice([CaveEntry.Source.PATIENT, CaveEntry.Source.CLINICIAN]),
                )
            )
        if rng.random() < 0.03:
            substance, severity = rng.choice(CAVE_OTHER)
            caves.append(
                CaveEntry(
                    patient=patient,
                    kind=CaveEntry.Kind.OTHER,
                    substance=substance,
                    severity=severity,
                    source=CaveEntry.Source.RECORD,
                )
            )
    CareCourse.objects.bulk_create(courses, batch_size=1000)
    CaveEntry.objects.bulk_create(caves, batch_size=1000)
    return patients


def _course(rng, patient, department, short, by_department, started, ended) -> CareCourse:
    kind = {
        Department.Kind.OUTPATIENT: CareCourse.Kind.OUTPATIENT,
        Department.Kind.EMERGENCY: CareCourse.Kind.EMERGENCY,
    }.get(department.kind, CareCourse.Kind.ADMISSION)
    doctors = by_department.get(short) or [None]
    # Most admitted patients have a room and bed on the ward; a new one may not yet.
    location = ""
    if kind == CareCourse.Kind.ADMISSION and ended is None and rng.random() < 0.85:
        location = f"Stue {rng.randint(1, 14)}, seng {rng.randint(1, 4)}"
    return CareCourse(
        patient=patient,
        department=department,
        kind=kind,
        title=rng.choice(COURSE_TITLES[short]),
        started_at=started,
        ended_at=ended,
        responsible=rng.choice(doctors),
        location=location,
    )


# FMK's own test persons: fmksim serves the cards recorded from FMK's test environment for them.
FMK_TEST_PERSONS = [
    ("1111111118", "Helle", "Bonde", "Niels Bohrs Vej 322B", "1473", "København K"),
    ("0410009234", "Sofie", "Bach", "", "", ""),
    ("1011649927", "Karl", "Pedersen", "", "", ""),
    ("1004219992", "Bente Ireland", "Svendsen", "Spørringgård 154", "7673", "Harboøre"),
]


def _fmk_test_persons(departments: dict) -> list:
    """The four FMK test persons, admitted (to cardiology; a child by the CPR number, to the
    paediatric clinic), so their recorded cards can be read."""
    from patients.services import patient_create

    today = timezone.localdate()
    created = []
    for cpr, given, family, address, postcode, city in FMK_TEST_PERSONS:
        if Patient.objects.filter(cpr=cpr).exists():
            continue
        patient = patient_create(
            cpr=cpr, given_names=given, family_name=family, address_line=address,
            postcode=postcode, city=city,
        )  # fmt: skip
        born = patient.birth_date or today - timedelta(days=ADULT_AGE * 366)
        child = (today - born).days < ADULT_AGE * 365.25
        department = departments[PAEDIATRIC if child and PAEDIATRIC in departments else "KAR"]
        doctor = department.staff_members.filter(role=Role.LAEGE).first()
        CareCourse.objects.create(
            patient=patient,
            department=department,
            kind=CareCourse.Kind.ADMISSION,
            title="Indlagt (FMK-testperson)",
            started_at=timezone.now() - timedelta(days=1),
            responsible=doctor,
        )
        created.append(patient)
    return created


def _portal_user(patient: Patient):
    user_model = get_user_model()
    user = user_model.objects.create(
        username="patient",
        first_name=patient.given_names.split()[0],
        last_name=patient.family_name,
        password=make_password(DEMO_PASSWORD),
        email="patient@demo.sundhed.invalid",
    )
    patient.user = user
    patient.save(update_fields=["user", "updated_at"])


def _demo_family(parent: Patient, built: list) -> None:
    """The portal's demo citizen is the parent of two children under 15 (as the CPR register
    would say), so the portal shows a parent acting for a child."""
    from patients.models import Proxy

    today = timezone.localdate()
    if not parent.birth_date or (today - parent.birth_date).days < 25 * 365:
        return  # a parent is an adult
    children = [
        p for p in built
        if p.pk != parent.pk and p.birth_date and not p.is_replacement_cpr
        and (today - p.birth_date).days < 13 * 365
    ][:2]  # fmt: skip
    user = get_user_model().objects.get(username="admin")
    for child in children:
        child.family_name = parent.family_name
        child.save(update_fields=["family_name", "updated_at"])
        Proxy.objects.get_or_create(
            subject=child, holder=parent, kind=Proxy.Kind.PARENT,
            defaults={"valid_from": timezone.now(), "granted_by": user},
        )  # fmt: skip


@transaction.atomic
def seed_demo(*, patients: int = 2000, seed: int = SEED) -> bool:
    """Build the demo data unless it exists; True when it was built now. Deterministic."""
    user_model = get_user_model()
    # labsim sends from this machine as LABSIM@KBA RH; registered also in data seeded before
    # the receiver took only registered senders.
    MllpSender.objects.get_or_create(
        application="LABSIM",
        facility="KBA RH",
        defaults={"name": "labsim (KBA Rigshospitalet)", "allowed_addresses": "127.0.0.1\n::1"},
    )
    if Region.objects.filter(code="1084").exists():
        return False
    rng = random.Random(seed)
    from journal.catalogue import catalogues_ensure
    from labresults.catalogue import catalogue_ensure

    catalogues_ensure()
    catalogue_ensure()
    if not user_model.objects.filter(username="admin").exists():
        user_model.objects.create_superuser(
            username="admin",
            email="admin@sundhed.invalid",
            password=DEMO_PASSWORD,
            first_name="Demo",
            last_name="Administrator",
        )
    departments = _build_organisation()
    staff = _build_staff(rng, departments)
    built = _build_patients(rng, patients, departments, staff)
    built += _fmk_test_persons(departments)
    if built:
        open_course = CareCourse.objects.filter(ended_at__isnull=True, patient__in=built[:200])
        first = open_course.filter(department=departments["KAR"]).first()
        parent = first.patient if first else built[0]
        _portal_user(parent)
        _demo_family(parent, built)
    from sundhed.demo.journal_history import seed_journal

    # labsim's FHIR endpoint, pulled by beat (make run starts labsim with --fhir-port).
    FhirSource.objects.get_or_create(
        name="KBA Rigshospitalet (FHIR)",
        defaults={"base_url": os.environ.get("SUNDHED_LABSIM_FHIR_URL", LABSIM_FHIR_URL)},
    )
    from sundhed.demo.booking_seed import seed_bookings

    for seeder in [seed_journal, seed_bookings, *EXTRA_SEEDERS]:
        seeder(rng, built, staff)
    return True


def demo_now() -> datetime:
    """The moment the demo data treats as now (for seeders of other apps)."""
    return timezone.now()
