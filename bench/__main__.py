"""Run the benchmarks: `python -m bench [chart ...]` (all when none is named)."""

import argparse
import os
import sys

BENCHES = ["chart", "partitions", "ingest", "medication", "booking", "portal", "load"]


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
    load = parser.add_argument_group("load", "the load benchmark (bench/load.py)")
    load.add_argument("--label", default="now", help="the run's name in bench/results/load.md")
    load.add_argument("--users", type=int, default=400, help="clinicians at once")
    load.add_argument("--seconds", type=int, default=180, help="how long the load lasts")
    load.add_argument("--think", default="2,8", help="think time between tasks, min,max s")
    load.add_argument("--web-instances", type=int, default=1)
    load.add_argument("--workers", type=int, default=4, help="gunicorn workers per instance")
    load.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    load.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    load.add_argument("--profile", action="store_true", help="cProfile every request, per page")
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
        elif name == "load":
            module.run(
                label=args.label, users=args.users, seconds=args.seconds, think=args.think,
                web_instances=args.web_instances, workers=args.workers,
                worker_class=args.worker_class, threads=args.threads, profile=args.profile,
            )  # fmt: skip
        else:
            module.run(requests=args.requests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
