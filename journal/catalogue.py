"""The bundled catalogues of the journal: SKS diagnosis codes and the standard note templates.

The SKS file in `journal/data/` holds the most used diagnosis codes with Danish texts (written
for Sundhed, abridged). A hospital loads the full classification from the Sundhedsdatastyrelsen
download with `manage.py load_sks <file>`; both are tab-separated: code, text.
"""

import csv
from pathlib import Path

SKS_FILE = Path(__file__).resolve().parent / "data" / "sks_diagnoses.tsv"

# (name, note type, [(heading, prompt[, required])]): the sections Danish hospitals use for each
# type. A required section is not signed empty; an empty one that is not is left out.
DEFAULT_TEMPLATES: list[tuple[str, str, list[tuple]]] = [
    (
        "Indlæggelsesnotat",
        "admission",
        [
            ("Kontaktårsag", ""),
            ("Anamnese", "Aktuelle problemstilling, forløb, tidligere sygdomme"),
            ("Medicin", ""),
            ("Allergi/CAVE", ".cave"),
            ("Objektiv undersøgelse", "Almentilstand, vitale parametre (.vitale), stetoskopi"),
            ("Paraklinik", ""),
            ("Vurdering", ""),
            ("Plan", "Behandling, observation, genoplivningsstatus"),
        ],
    ),
    (
        "Kontinuationsnotat",
        "continuation",
        [("Status", ""), ("Objektivt", ""), ("Vurdering", ""), ("Plan", "")],
    ),
    (
        "Ambulant notat",
        "outpatient",
        [
            ("Kontaktårsag", ""),
            ("Anamnese", ""),
            ("Objektivt", ""),
            ("Konklusion", ""),
            ("Plan og opfølgning", ""),
        ],
    ),
    (
        "Sygeplejenotat",
        "nursing",
        [
            ("Problemområde", "Fx ernæring, hud, smerter, udskillelse, søvn"),
            ("Observationer", ""),
            ("Handling", ""),
            ("Evaluering", ""),
        ],
    ),
    (
        "Epikrise",
        "epikrise",
        [
            ("Diagnoser", ".diag", True),
            ("Forløb", "Indlæggelsesforløb, undersøgelser og fund", True),
            ("Behandling", ""),
            ("Medicin ved udskrivelse", ".med", True),
            ("Opfølgning", "Aftaler, kontrol, opgaver til egen læge"),
        ],
    ),
]


def sks_rows(path: Path = SKS_FILE) -> list[tuple[str, str]]:
    """(code, text) pairs from a tab-separated file with a header row."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        next(reader, None)
        return [(row[0].strip().upper(), row[1].strip()) for row in reader if len(row) >= 2]


def sks_load(model, path: Path = SKS_FILE) -> tuple[int, int]:
    """Insert new codes and update changed texts; returns (created, updated). Never deletes."""
    existing = {code.code: code for code in model.objects.all()}
    created, changed = [], []
    for code, text in sks_rows(path):
        row = existing.get(code)
        if row is None:
            created.append(model(code=code, text=text))
        elif row.text != text:
            row.text = text
            changed.append(row)
    model.objects.bulk_create(created, batch_size=1000)
    model.objects.bulk_update(changed, ["text"], batch_size=1000)
    return len(created), len(changed)


def templates_load(template_model, section_model) -> int:
    """Create the standard templates that do not exist yet; returns how many were made."""
    made = 0
    for name, note_type, sections in DEFAULT_TEMPLATES:
        template, created = template_model.objects.get_or_create(name=name, note_type=note_type)
        if created:
            made += 1
            # A migration's model of the table before `required` existed has no such field.
            knows_required = any(f.name == "required" for f in section_model._meta.fields)
            section_model.objects.bulk_create(
                section_model(
                    template=template,
                    position=i,
                    heading=section[0],
                    prompt=section[1],
                    **({"required": len(section) > 2 and section[2]} if knows_required else {}),
                )  # fmt: skip
                for i, section in enumerate(sections)
            )
    return made


def catalogues_ensure() -> None:
    """Load the bundled catalogues where they are missing (a flushed test database, a new site)."""
    from journal.models import NoteTemplate, NoteTemplateSection, SksCode

    if not SksCode.objects.exists():
        sks_load(SksCode)
    if not NoteTemplate.objects.exists():
        templates_load(NoteTemplate, NoteTemplateSection)
