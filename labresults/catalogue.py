"""The bundled analysis catalogue, loaded from `labresults/data/analyses.json`.

Common analyses with NPU code, Danish name, unit, reference intervals by sex and age and
critical limits (kritiske værdier), and panels. Loaded by a migration on a new site;
`manage.py load_analyses [FILE]` adds analyses and panels that are missing (from the bundled
file, or a hospital's own file of the same shape) without touching what administrators changed.
"""

import json
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "analyses.json"


def catalogue_data(path: Path = DATA_FILE) -> dict:
    """The catalogue file: {"analyses": [...], "panels": [...]}."""
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def analyses_load(analysis_model, interval_model, panel_model, *, path: Path = DATA_FILE) -> int:
    """Create the analyses and panels that do not exist; returns how many analyses were made.

    Takes the models as arguments so that a migration can pass its historical ones.
    """
    data = catalogue_data(path)
    made = 0
    for order, row in enumerate(data["analyses"]):
        analysis, created = analysis_model.objects.get_or_create(
            code=row["code"],
            defaults={
                "name": row["name"],
                "short_name": row["short_name"],
                "unit": row["unit"],
                "decimals": row["decimals"],
                "is_key": row["is_key"],
                "critical_low": row["critical_low"],
                "critical_high": row["critical_high"],
                "position": order,
            },
        )
        if created:
            made += 1
            interval_model.objects.bulk_create(
                interval_model(analysis=analysis, **interval) for interval in row["intervals"]
            )
    for panel_row in data["panels"]:
        panel, created = panel_model.objects.get_or_create(name=panel_row["name"])
        if created:
            panel.analyses.set(analysis_model.objects.filter(code__in=panel_row["analyses"]))
    return made


def catalogue_ensure() -> None:
    """Load the bundled analyses where they are missing (a flushed test database, a new site)."""
    from labresults.models import Analysis, Panel, ReferenceInterval

    if not Analysis.objects.exists():
        analyses_load(Analysis, ReferenceInterval, Panel)
