"""The checks at ordering and reconciliation: CAVE, interactions and duplicate therapy.

Each returns warnings a prescriber must answer with a reason to go on (an override is stored
with who, when and why). Matching is by ATC code: a CAVE or an interaction given for a class
(`J01C`, `M01A`) covers every drug under it, and an allergy to one penicillin covers the others
(the cross-reacting classes below), besides a match on the substance's name.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

# An allergy recorded against one drug of these classes covers the whole class (level 3).
CROSS_REACTING = {
    "J01C": "penicilliner",
    "J01D": "cefalosporiner og carbapenemer",
    "M01A": "NSAID",
    "J01E": "sulfonamider",
    "J01F": "makrolider",
}


@dataclass(frozen=True)
class Candidate:
    """A drug about to be ordered (or put on FMK)."""

    name: str
    atc_code: str
    substance: str = ""


@dataclass(frozen=True)
class Warning:
    """One warning: its kind (cave, interaction, duplicate), the text, and a stable key that the
    form uses for the reason given against it."""

    kind: str
    key: str
    text: str
    severity: str = ""


def _words(text: str) -> set[str]:
    return {w for w in text.lower().replace("+", " ").replace(",", " ").split() if len(w) > 3}


def cave_warnings(candidate: Candidate, caves) -> list[Warning]:
    """The patient's active CAVE entries that cover this drug."""
    found = []
    atc = candidate.atc_code.upper()
    names = f"{candidate.name} {candidate.substance}".lower()
    for cave in caves:
        code = (cave.atc_code or "").upper()
        by_code = bool(code) and (
            atc.startswith(code) or (code[:4] in CROSS_REACTING and atc.startswith(code[:4]))
        )
        by_name = bool(cave.substance) and any(w in names for w in _words(cave.substance))
        if by_code or by_name:
            found.append(
                Warning(
                    "cave",
                    f"cave:{cave.pk}",
                    _("CAVE: %(substance)s (%(reaction)s) – %(drug)s is %(atc)s")
                    % {
                        "substance": cave.substance,
                        "reaction": cave.reaction or cave.get_severity_display(),
                        "drug": candidate.name,
                        "atc": atc,
                    },
                    cave.severity,
                )
            )
    return found


def interaction_warnings(candidate: Candidate, others: list[Candidate], pairs) -> list[Warning]:
    """Interactions between this drug and the patient's other drugs (not those that can be
    used together)."""
    found = []
    for other in others:
        for pair in pairs:
            if pair.severity == "kan anvendes" or not other.atc_code:
                continue
            if pair.matches(candidate.atc_code.upper(), other.atc_code.upper()):
                found.append(
                    Warning(
                        "interaction",
                        f"interaction:{pair.pk}:{other.atc_code}",
                        _("Interaction with %(other)s (%(severity)s): %(mechanism)s %(advice)s")
                        % {
                            "other": other.name,
                            "severity": pair.severity,
                            "mechanism": pair.mechanism,
                            "advice": pair.advice,
                        },
                        pair.severity,
                    )
                )
    return found


def duplicate_warnings(candidate: Candidate, others: list[Candidate]) -> list[Warning]:
    """The same therapeutic group (ATC level 4, five characters) twice."""
    group = candidate.atc_code.upper()[:5]
    if len(group) < 5:
        return []
    return [
        Warning(
            "duplicate",
            f"duplicate:{other.atc_code}:{other.name}",
            _("Duplicate therapy: %(other)s is in the same group (%(group)s) as %(drug)s")
            % {"other": other.name, "group": group, "drug": candidate.name},
        )
        for other in others
        if other.atc_code.upper()[:5] == group and other.name != candidate.name
    ]


def warnings_for(candidate: Candidate, *, caves, others: list[Candidate], pairs) -> list[Warning]:
    """Every warning for one drug against the patient's CAVE and other drugs."""
    return [
        *cave_warnings(candidate, caves),
        *interaction_warnings(candidate, others, pairs),
        *duplicate_warnings(candidate, others),
    ]
