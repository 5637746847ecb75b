"""No Docker engine runs here, so the compose file is checked by reading it."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_stack_has_every_service_with_a_health_check():
    services = _compose()["services"]
    assert set(services) == {
        "postgres",
        "redis",
        "migrate",
        "web",
        "worker",
        "imaging-worker",
        "beat",
        "mllp",
    }
    for name in ("postgres", "redis", "web", "worker", "imaging-worker", "beat"):
        assert "healthcheck" in services[name], name


def test_redis_keeps_the_queue_and_never_evicts():
    command = _compose()["services"]["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"


def test_web_worker_and_beat_wait_for_the_migrate_job():
    services = _compose()["services"]
    for name in ("web", "worker", "beat"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully"
    assert "migrate" in " ".join(services["migrate"]["command"])


def test_web_runs_gunicorn_and_exactly_one_beat_runs():
    services = _compose()["services"]
    assert services["web"]["command"][0] == "gunicorn"
    assert services["worker"]["command"][:4] == ["celery", "-A", "sundhed", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "sundhed", "beat"]
    assert services["beat"]["deploy"]["replicas"] == 1
    assert services["mllp"]["command"][:3] == ["python", "manage.py", "mllp_receiver"]


def test_data_lives_on_volumes():
    compose = _compose()
    assert {"postgres", "redis"} <= set(compose["volumes"])
    assert any("postgresql/data" in v for v in compose["services"]["postgres"]["volumes"])
