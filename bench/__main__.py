"""Run the benchmarks: `python -m bench [chart ...]` (all when none is named)."""

import argparse
import os
import sys

BENCHES = ["chart", "ingest", "medication", "booking", "portal"]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help=f"benchmarks to run: {BENCHES}")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--messages", type=int, default=5000, help="for the ingest benchmark")
    parser.add_argument("--concurrency", type=int, default=2, help="ingest worker processes")
    parser.add_argument(
        "--reliability",
        type=int,
        default=20_000,
        help="messages of the ingest benchmark's crash run (0: none)",
    )
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sundhed.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    for name in args.names or BENCHES:
        module = __import__(f"bench.{name}", fromlist=["run"])
        if name == "ingest":
            module.run(
                messages=args.messages,
                concurrency=args.concurrency,
                reliability=args.reliability,
            )
        else:
            module.run(requests=args.requests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
