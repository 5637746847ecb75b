"""Celery adapters of medicinkort: none of its own. Reads of the FMK card and the changes for
FMK are kinds of the outbox's durable work (`medicinkort.cardread`, `medicinkort.fmkwrite`),
worked by `outbox.work` and swept by `outbox.sweep`."""
