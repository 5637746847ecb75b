"""The bundled drug catalogue and interaction table (`medicinkort/data/`, see SOURCE.md there).

Both are tab-separated with a header row. `manage.py load_drugs [FILE]` loads a fuller list in
the same columns (a hospital exports it from its drug file, Medicinpriser/LMS); loading adds
what is new and updates what changed, and never deletes (an order points at its drug).
"""

import csv
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
DRUGS_FILE = DATA / "drugs.tsv"
INTERACTIONS_FILE = DATA / "interactions.tsv"
DRUG_COLUMNS = [
    "name", "substance", "atc", "form_code", "form_text", "strength", "route_code",
    "route_text", "unit_singular", "unit_plural",
]  # fmt: skip
INTERACTION_COLUMNS = [
    "atc_a", "substance_a", "atc_b", "substance_b", "severity", "mechanism", "advice",
]  # fmt: skip


class CatalogueError(ValueError):
    """A file that cannot be loaded: says which line and why."""


def _rows(path: Path, columns: list[str]) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[: len(columns)]] != columns:
            raise CatalogueError(f"{path.name}: the header must be: {' '.join(columns)}")
        rows = []
        for number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) < len(columns):
                raise CatalogueError(f"{path.name}, line {number}: {len(row)} columns, not "
                                     f"{len(columns)}")  # fmt: skip
            rows.append({c: row[i].strip() for i, c in enumerate(columns)})
        return rows


def drugs_load(path: Path = DRUGS_FILE, *, model=None) -> tuple[int, int]:
    """Add new drugs and update changed ones; returns (added, updated). `model`: a migration's
    historical Drug."""
    from medicinkort.models import Drug as CurrentDrug

    Drug = model or CurrentDrug  # noqa: N806

    existing = {(d.name, d.strength, d.form_code): d for d in Drug.objects.all()}
    added, changed = [], []
    for row in _rows(path, DRUG_COLUMNS):
        if len(row["atc"]) != 7:
            raise CatalogueError(f"{path.name}: {row['name']}: ATC {row['atc']!r} is not 7 long")
        values = {
            "substance": row["substance"],
            "atc_code": row["atc"].upper(),
            "form_text": row["form_text"],
            "route_code": row["route_code"],
            "route_text": row["route_text"],
            "unit_singular": row["unit_singular"],
            "unit_plural": row["unit_plural"],
        }
        key = (row["name"], row["strength"], row["form_code"])
        drug = existing.get(key)
        if drug is None:
            drug = Drug(name=key[0], strength=key[1], form_code=key[2], **values)
            existing[key] = drug
            added.append(drug)
        elif any(getattr(drug, f) != v for f, v in values.items()):
            for field, value in values.items():
                setattr(drug, field, value)
            changed.append(drug)
    Drug.objects.bulk_create(added, batch_size=1000)
    Drug.objects.bulk_update(changed, list(values), batch_size=1000)
    return len(added), len(changed)


def interactions_load(path: Path = INTERACTIONS_FILE, *, model=None) -> tuple[int, int]:
    """Add new pairs and update changed ones; returns (added, updated)."""
    from medicinkort.models import Interaction as CurrentInteraction

    Interaction = model or CurrentInteraction  # noqa: N806

    existing = {(i.atc_a, i.atc_b): i for i in Interaction.objects.all()}
    added, changed = [], []
    fields = ["substance_a", "substance_b", "severity", "mechanism", "advice"]
    for row in _rows(path, INTERACTION_COLUMNS):
        if row["severity"] not in CurrentInteraction.Severity.values:
            raise CatalogueError(f"{path.name}: unknown severity {row['severity']!r}")
        key = (row["atc_a"].upper(), row["atc_b"].upper())
        if key in existing or key[::-1] in existing:
            pair = existing.get(key) or existing[key[::-1]]
            if any(getattr(pair, f) != row[f] for f in fields) and pair.pk:
                for field in fields:
                    setattr(pair, field, row[field])
                changed.append(pair)
            continue
        pair = Interaction(atc_a=key[0], atc_b=key[1], **{f: row[f] for f in fields})
        existing[key] = pair
        added.append(pair)
    Interaction.objects.bulk_create(added, batch_size=1000)
    Interaction.objects.bulk_update(changed, fields, batch_size=1000)
    return len(added), len(changed)


def catalogue_ensure() -> None:
    """Load the bundled files where the tables are empty (a flushed test database, a new site)."""
    from medicinkort.models import Drug, Interaction

    if not Drug.objects.exists():
        drugs_load()
    if not Interaction.objects.exists():
        interactions_load()
