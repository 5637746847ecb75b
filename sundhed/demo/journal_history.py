"""Demo history for the journal: diagnoses, notes and vital signs for the demo patients' courses.

Built in bulk (the history triggers still record every row) and deterministic from the seed.
"""

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from journal.models import Diagnosis, Note, NoteStatus, NoteType, SksCode, VitalSigns
from journal.news2 import news2
from organisation.models import Role
from patients.models import CareCourse

# The action diagnosis that fits each demo course title.
ACTION_CODES = {
    "Atrieflimren": "DI489",
    "Hjertesvigt": "DI509",
    "Brystsmerter til udredning": "DR074",
    "AKS, NSTEMI": "DI214",
    "Hoftenær fraktur": "DS720",
    "Knæalloplastik": "DM171",
    "Underarmsfraktur": "DS525",
    "Diskusprolaps": "DM511",
    "Faldtraume": "DR296",
    "Mavesmerter": "DR104",
    "Åndenød": "DR060",
    "Feber uden fokus": "DR509",
    "Pneumoni": "DJ189",
    "KOL i exacerbation": "DJ441",
    "Urinvejsinfektion": "DN390",
    "Dehydrering": "DE860",
    "Faldudredning": "DR296",
    "Kognitiv udredning": "DF067",
    "Polyfarmaci": "DZ518",
    "Funktionstab": "DR268",
    "CT-skanning af thorax": "DZ038",
    "MR af columna lumbalis": "DM545",
    "Røntgen af hofte": "DM169",
    "Astma, akut forværring": "DJ459",
    "RS-virus, bronkiolitis": "DJ210",
    "Gastroenteritis med dehydrering": "DA099",
    "Feberkramper": "DR560",
    "Pneumoni hos barn": "DJ180",
}
SECONDARY_CODES = ["DI10", "DE119", "DJ449", "DE785", "DN183", "DF329", "DE669", "DI251"]
# A child's secondary diagnoses: none of the adult ones above (hypertension, type 2 diabetes…).
CHILD_SECONDARY_CODES = ["DJ450", "DA084", "DR568"]

OPENINGS = [
    "Patienten ses til stuegang.",
    "Patienten er vågen og klar.",
    "Patienten er træt, men vågen.",
    "Patienten ses sammen med pårørende.",
]
STATUS = [
    "Har sovet godt i nat. Ingen smerter i hvile.",
    "Klager over smerter ved mobilisering, effekt af paracetamol.",
    "Har haft brystsmerter i nat, aftagende efter nitroglycerin.",
    "Fortsat åndenød ved let anstrengelse.",
    "Spiser og drikker sparsomt. Kvalme om morgenen.",
    "Mobiliseres med rollator og går på gangen.",
    "Feberfri det seneste døgn.",
]
PLANS = [
    "Plan: fortsat observation, vitale værdier hver 4. time.",
    "Plan: blodprøver i morgen, vurdering ved stuegang.",
    "Plan: mobilisering med fysioterapeut, forventet udskrivelse om to dage.",
    "Plan: uændret behandling, ny vurdering i morgen.",
    "Plan: samtale med pårørende, udskrivelse når stabil.",
]
NURSING = [
    "Ernæring: spiser halvdelen af måltiderne, får proteindrik.",
    "Hud: rødme over os sacrum, vendes hver 3. time.",
    "Smerter: VAS 4 ved bevægelse, smertestillende givet med effekt.",
    "Søvn: urolig nat, tilset hver time.",
    "Udskillelse: vandladning uden problemer.",
]


def _vitals(rng: random.Random, *, unwell: float) -> dict:
    """A plausible set of vital signs; `unwell` from 0 (healthy) to 1 (deteriorating)."""
    values: dict = {
        "respiration_rate": int(rng.gauss(15 + 9 * unwell, 2)),
        "spo2": min(100, int(rng.gauss(97 - 7 * unwell, 1.5))),
        "on_oxygen": unwell > 0.6 and rng.random() < 0.7,
        "systolic": int(rng.gauss(132 - 30 * unwell, 12)),
        "pulse": int(rng.gauss(74 + 35 * unwell, 8)),
        "consciousness": "C" if unwell > 0.85 and rng.random() < 0.4 else "A",
        "temperature": Decimal(str(round(rng.gauss(36.9 + 1.6 * unwell, 0.3), 1))),
    }
    values["diastolic"] = max(40, min(values["systolic"] - 25, int(rng.gauss(78, 8))))
    return values


def seed_journal(rng: random.Random, patients: list, staff: list) -> None:
    """Diagnoses, notes and vital signs for every demo course, newest courses the richest."""
    codes = {code.code: code for code in SksCode.objects.all()}
    doctors: dict = {}
    nurses: dict = {}
    for member in staff:
        target = {Role.LAEGE: doctors, Role.SYGEPLEJERSKE: nurses}.get(member.role)
        if target is not None and member.active_department_id:
            target.setdefault(member.active_department_id, []).append(member)
    seniors = {
        dept: [d for d in members if not d.requires_cosign] or members
        for dept, members in doctors.items()
    }
    now = timezone.now()
    diagnoses, notes, vitals = [], [], []
    courses = CareCourse.objects.filter(patient__in=patients).select_related(
        "department", "patient"
    )
    for course in courses.order_by("id"):
        dept = course.department_id
        authors = doctors.get(dept) or [m for ms in doctors.values() for m in ms]
        author = rng.choice(authors)
        signer = rng.choice(seniors.get(dept) or authors)
        code = codes.get(ACTION_CODES.get(course.title, ""))
        if code:
            diagnoses.append(
                Diagnosis(
                    patient_id=course.patient_id,
                    care_course=course,
                    code=code,
                    kind=Diagnosis.Kind.ACTION,
                    recorded_at=course.started_at + timedelta(hours=2),
                    recorded_by=author,
                )
            )
        if rng.random() < 0.4:
            diagnoses.append(
                Diagnosis(
                    patient_id=course.patient_id,
                    care_course=course,
                    code=codes[
                        rng.choice(
                            CHILD_SECONDARY_CODES
                            if (course.started_at.date() - course.patient.birth_date).days
                            < 18 * 365
                            else SECONDARY_CODES
                        )
                    ],  # fmt: skip
                    kind=Diagnosis.Kind.SECONDARY,
                    recorded_at=course.started_at + timedelta(hours=3),
                    recorded_by=author,
                )
            )
        end = course.ended_at or now
        days = max(1, min(10, (end - course.started_at).days))
        first_type = (
            NoteType.ADMISSION if course.kind == CareCourse.Kind.ADMISSION else NoteType.OUTPATIENT
        )
        moments = [course.started_at + timedelta(hours=1)] + [
            course.started_at + timedelta(days=day, hours=rng.randint(8, 14))
            for day in range(1, days)
        ]
        for number, moment in enumerate(moments):
            if moment > now:
                break
            note_type = first_type if number == 0 else NoteType.CONTINUATION
            if number and rng.random() < 0.35:
                note_type = NoteType.NURSING
            writer = (
                author if note_type != NoteType.NURSING else rng.choice(nurses.get(dept) or authors)
            )
            text = "\n".join(
                [rng.choice(OPENINGS), rng.choice(STATUS)]
                + ([rng.choice(NURSING)] if note_type == NoteType.NURSING else [])
                + [rng.choice(PLANS)]
            )
            if number == 0:
                text = f"Kontaktårsag: {course.title}.\n{text}"
            # The newest note of an open course is sometimes still unsigned.
            unsigned = course.ended_at is None and number == len(moments) - 1 and rng.random() < 0.3
            junior = writer.requires_cosign
            status = (
                NoteStatus.DRAFT
                if unsigned
                else NoteStatus.AWAITING_COSIGN
                if junior and course.ended_at is None
                else NoteStatus.SIGNED
            )
            notes.append(
                Note(
                    patient_id=course.patient_id,
                    care_course=course,
                    department_id=dept,
                    note_type=note_type,
                    title=f"{NoteType(note_type).label.split(' (')[0]}: {course.title}",
                    text=text,
                    status=status,
                    author=writer,
                    written_at=moment,
                    signed_at=None if status == NoteStatus.DRAFT else moment + timedelta(hours=1),
                    signed_by=None if status == NoteStatus.DRAFT else writer,
                    cosign_required=junior and status != NoteStatus.DRAFT,
                    cosigned_at=moment + timedelta(hours=5)
                    if junior and status == NoteStatus.SIGNED
                    else None,
                    cosigned_by=signer if junior and status == NoteStatus.SIGNED else None,
                )
            )
        if course.ended_at and course.kind == CareCourse.Kind.ADMISSION:
            notes.append(
                Note(
                    patient_id=course.patient_id,
                    care_course=course,
                    department_id=dept,
                    note_type=NoteType.EPIKRISE,
                    title=f"Epikrise: {course.title}",
                    text=(f"Diagnoser: {code.code} {code.text}\n" if code else "")
                    + "Forløb: ukompliceret. Udskrevet til eget hjem.\n"
                    + rng.choice(PLANS),
                    status=NoteStatus.SIGNED,
                    author=signer,
                    written_at=course.ended_at,
                    signed_at=course.ended_at,
                    signed_by=signer,
                )
            )
        if course.kind == CareCourse.Kind.ADMISSION:
            unwell = rng.random() ** 2
            measured = course.started_at
            recorder = rng.choice(nurses.get(dept) or authors)
            # Recent admissions are observed closely; older ones keep a few sets each.
            sets = 24 if now - course.started_at < timedelta(days=60) else 4
            while measured < end and measured < now and sets > 0:
                sets -= 1
                values = _vitals(rng, unwell=unwell)
                score = news2(**{k: v for k, v in values.items() if k != "diastolic"})
                vitals.append(
                    VitalSigns(
                        patient_id=course.patient_id,
                        care_course=course,
                        department_id=dept,
                        measured_at=measured,
                        recorded_by=recorder,
                        score=score.total,
                        risk=score.risk,
                        **values,
                    )
                )
                measured += timedelta(hours=rng.choice([4, 6, 8, 12]))
                unwell = max(0.0, unwell - 0.05) if course.ended_at else unwell
    Diagnosis.objects.bulk_create(diagnoses, batch_size=2000)
    Note.objects.bulk_create(notes, batch_size=2000)
    VitalSigns.objects.bulk_create(vitals, batch_size=2000)
