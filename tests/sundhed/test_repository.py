"""Rules about the repository itself, so they hold for every change after the one that made them."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Background files of the people who build Sundhed; a user's clone does not have them.
ABSENT_FILES = ("DESIGN" + ".md", "STYLE" + ".md")


def _tracked_files() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [ROOT / name for name in names]


def test_no_file_cites_a_document_the_clone_does_not_have():
    citing = []
    for path in _tracked_files():
        if not path.is_file() or path.suffix in (".png", ".woff2", ".mo", ".dcm", ".ico"):
            continue
        text = path.read_text(errors="ignore")
        citing += [f"{path.relative_to(ROOT)}: {name}" for name in ABSENT_FILES if name in text]
    assert citing == []
