"""The dev stack keeps away from the standard ports that a real server may hold."""

from sundhed.devstack import free_port, redact


def test_a_free_port_is_never_the_standard_redis_port_unless_asked():
    assert free_port() != 6379


def test_passwords_are_hidden_when_urls_are_printed():
    assert redact("postgresql://u:secret@db:5432/x") == "postgresql://u:***@db:5432/x"
    assert redact("redis://127.0.0.1:6380/0") == "redis://127.0.0.1:6380/0"
