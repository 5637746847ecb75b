"""The dev stack keeps away from the standard ports that a real server may hold."""

from sundhed.devstack import free_port, redact


def test_a_free_port_is_never_the_standard_redis_port_unless_asked():
    assert free_port() != 6379


def test_passwords_are_hidden_when_urls_are_printed():
    assert redact("postgresql://u:secret@db:5432/x") == "postgresql://u:***@db:5432/x"
    assert redact("redis://127.0.0.1:6380/0") == "redis://127.0.0.1:6380/0"


def test_every_procfile_command_is_found_in_the_virtual_environment():
    """`make run` works from a shell where the virtual environment is not activated."""
    import shutil
    import sys
    from pathlib import Path

    from sundhed.devstack import ROOT, Stack

    stack = Stack("test")
    venv_bin = Path(sys.executable).parent
    for line in (ROOT / "Procfile.dev").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        program = line.split(":", 1)[1].split()[0]
        found = shutil.which(program, path=stack.env["PATH"])
        assert found, f"{program} is not on the dev stack's PATH"
        if program in {"python", "celery", "honcho"}:
            assert Path(found).parent == venv_bin, f"{program} must come from {venv_bin}"
