"""Plot the profile cost curve (median latency and response size against followers).

Usage: python bench/plot.py bench/results/<run>.json docs/profile-cost-curve.png
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(results_path: str, png_path: str) -> None:
    data = json.load(open(results_path))
    curve = next(r["curve"] for r in data["results"] if r["curve"])
    points = sorted(curve.values(), key=lambda c: c["followers"])
    followers = [p["followers"] for p in points]
    latency = [p["p50_ms"] for p in points]
    size_mb = [p["bytes"] / 1e6 for p in points]

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    ax.loglog(followers, latency, "o-", color="tab:blue", label="median latency (ms)")
    for x, y in zip(followers, latency, strict=True):
        ax.annotate(f"{y:.0f} ms", (x, y), textcoords="offset points", xytext=(-10, 8))
    ax.set_xlabel("followers of the profiled user")
    ax.set_ylabel("median latency, ms (wrk -c1)", color="tab:blue")
    twin = ax.twinx()
    twin.loglog(followers, size_mb, "s--", color="tab:orange", label="response size (MB)")
    twin.set_ylabel("response size, MB", color="tab:orange")
    ax.set_title("GET /api/users/<celebrity>, PostgreSQL, gunicorn gthread 2x4")
    ax.grid(True, which="both", alpha=0.3)
    fig.legend(loc="upper left", bbox_to_anchor=(0.12, 0.88))
    fig.tight_layout()
    fig.savefig(png_path)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
