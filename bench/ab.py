"""Two checkouts through ./scripts/serve.sh side by side: CPU per request, alternating rounds.

Usage (a database seeded by bench/prepare.py, whose --out JSON gives the token):
    python bench/ab.py --a ../overworld-before --b . --info prepare.json \\
        --database-url postgres://postgres@127.0.0.1:5432/overworld_stacks --pg-db overworld_stacks
    python bench/ab.py --a . --b . --env-b GUNICORN_THREADS=2 ...   # one checkout, two settings

Both stacks run at once (ports 18600 and 18610) and are loaded one at a time, A then B, then B
then A, round after round, `wrk -c16` for `--seconds` each after a 1 s warm-up. CPU is what
bench/stacks.py counts: every process serve.sh starts, nginx included, plus the PostgreSQL
backends, divided by the requests answered. On a shared virtual machine the CPU cost of the
same work drifts by tens of percent within minutes; alternating short rounds puts A and B in
the same minutes, so read the median of the per-round ratios B/A, not the absolute figures.
A checkout needs its venv: a symlink to this one's `.venv` will do.
"""

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import slow_clients  # noqa: E402
import stacks  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", required=True, type=Path, help="checkout A (the baseline)")
    parser.add_argument("--b", required=True, type=Path, help="checkout B")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--pg-db", required=True, help="database name, for its backends' CPU")
    parser.add_argument("--info", required=True, help="bench/prepare.py's JSON output")
    parser.add_argument("--env-a", default="", help="environment of A: NAME=VALUE ... (spaces)")
    parser.add_argument("--env-b", default="", help="environment of B, e.g. GUNICORN_THREADS=2")
    parser.add_argument("--paths", default="/api/users/user/,/api/users/typical")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=3)
    args = parser.parse_args()
    slow_clients.raise_nofile_limit()
    info = json.loads(Path(args.info).read_text())
    paths = args.paths.split(",")
    workdir = Path(tempfile.mkdtemp(prefix="overworld-ab-"))
    running = [
        stacks.Running(
            f"{label}: {root} {env}",
            stacks.Stack("serve.sh", env=dict(pair.split("=", 1) for pair in env.split())),
            port,
            args.database_url,
            workdir,
            root=root.resolve(),
        )  # fmt: skip
        for label, root, env, port in (
            ("A", args.a, args.env_a, 18600),
            ("B", args.b, args.env_b, 18610),
        )
    ]
    costs = {(side, path): [] for side in (0, 1) for path in paths}
    try:
        for round_ in range(args.rounds):
            for path in paths:
                token = info["token"] if path.endswith("/user/") else None
                for side in (0, 1) if round_ % 2 == 0 else (1, 0):
                    cost = stacks.cpu_per_request(
                        running[side], path, token, args.seconds, args.pg_db
                    )["cpu_ms"]
                    costs[(side, path)].append(cost)
            print(f"round {round_ + 1}: " + ", ".join(
                f"{path} A {costs[(0, path)][-1]:.3f} B {costs[(1, path)][-1]:.3f} ms"
                for path in paths
            ), file=sys.stderr)  # fmt: skip
    finally:
        for stack in running:
            stack.stop()
    print("| path | A ms (median) | B ms (median) | B / A, median of rounds (min-max) |")
    print("|---|---|---|---|")
    for path in paths:
        a, b = costs[(0, path)], costs[(1, path)]
        ratios = [y / x for x, y in zip(a, b, strict=True)]
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
        print(
            f"| `{path}` | {statistics.median(a):.3f} | {statistics.median(b):.3f} "
            f"| {statistics.median(ratios):.2f} ({spread}) |"
        )


if __name__ == "__main__":
    main()
