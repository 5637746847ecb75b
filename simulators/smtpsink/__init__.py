"""smtpsink: an SMTP server that keeps what it receives, for `make run` and the tests."""
