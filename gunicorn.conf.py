"""gunicorn settings, each overridable from the environment (docs/performance.md, "Serving").

Chosen from measurements on this 2-core machine:
- gthread, not sync: sync workers close the client connection after every response; threads
  keep it alive and roughly doubled every throughput floor.
- 2 workers = the cores: the work is CPU-bound Python under the GIL, so a third process only
  competes for the same cores (sync x4 measured no better than x2).
- 4 threads per worker: a thread waiting on PostgreSQL or on a slow client (a 100k-follower
  profile is ~0.6 MB) lets another request run; CPU-bound requests still share the worker's
  GIL. Each thread keeps one persistent database connection (CONN_MAX_AGE, with health
  checks), so 2 x 4 = 8 connections per instance: mind PostgreSQL's max_connections.
- timeout 30 s: far above the slowest measured request (1M followers, about 1 s).
- Re-measured for issue 11 with bench/serving.py (gthread 2x4, 2x4 + reuse_port, 4x2, 3x2, 2x1,
  sync x4; docs/performance.md, "Serving"): 2x4 stays. 4x2 and 3x2 were no better and cost more
  CPU per request; 2x1 let one worker's GIL carry most of the kept-alive connections; sync paid
  a connect per request (about 1.8x the floor's CPU). reuse_port stays off: with it, gunicorn
  27 gives every worker a listening socket of its own and the kernel hashes each new connection
  to one of them -- even on average, blind to load, and measured no better than the shared
  socket; and connections waiting in a worker's own backlog are reset when that worker exits.
"""

import importlib
import os
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from overworld.env import env
from overworld.local_key import ensure_checkout_key

# Every variable through the project's one parser (overworld/env.py: a blank value is unset).
bind = env.str("GUNICORN_BIND", default="127.0.0.1:8000")
worker_class = env.str("GUNICORN_WORKER_CLASS", default="gthread")
workers = env.int("GUNICORN_WORKERS", default=2)
threads = env.int("GUNICORN_THREADS", default=4)
reuse_port = env.bool("GUNICORN_REUSE_PORT", default=False)
timeout = env.int("GUNICORN_TIMEOUT", default=30)
keepalive = 5
# The application writes the access line (core.access: request id, route, duration, the same
# under any server); gunicorn's own, the same request again without them, only when asked.
accesslog = "-" if env.bool("GUNICORN_ACCESS_LOG", default=False) else None
errorlog = "-"
loglevel = env.str("GUNICORN_LOG_LEVEL", default="info")
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms'
# gunicorn >= 25 opens a control socket for `gunicornc` at one fixed path per user
# ($HOME/.gunicorn/gunicorn.ctl), which every other gunicorn of that user (another checkout, a
# test server) would take over or delete. Off unless a path is given.
_control_socket = env.str("GUNICORN_CONTROL_SOCKET", default="")
control_socket_disable = not _control_socket
if _control_socket:
    control_socket = _control_socket

# --- Graceful stop (docs/deployment.md, "When a dependency fails") ---------------------
# On SIGTERM (what an orchestrator sends) or a SIGHUP reload, workers stop accepting and get
# this many seconds to finish the requests they already accepted before they are killed. Keep
# it under the orchestrator's own grace period (Kubernetes: terminationGracePeriodSeconds, 30).
graceful_timeout = env.int("GUNICORN_GRACEFUL_TIMEOUT", default=25)

# --- Refuse to start without a secret key, in one line --------------------------------------------
# The settings are imported here, in the master, before it binds or forks: a deployment without
# DJANGO_SECRET_KEY stops with the settings' one-line reason and exit status 1, instead of every
# worker failing to boot with a traceback. A checkout without one makes its own key file first
# (overworld/local_key.py).
_settings_module = os.environ.setdefault("DJANGO_SETTINGS_MODULE", "overworld.settings")
try:
    ensure_checkout_key(Path(__file__).resolve().parent)
    importlib.import_module(_settings_module)
except ImproperlyConfigured as exc:
    sys.exit(f"gunicorn: {exc}")

# --- Metrics across workers (core.metrics_files, docs/operations.md, "Metrics") ------------------
# Every worker counts in its own files in PROMETHEUS_MULTIPROC_DIR and /metrics adds them up.
# The master empties the directory (or makes a private one when metrics are on and none is
# named) before the first worker starts; a worker that exits leaves its counters in the sum and
# takes its live gauges (requests in flight) with it.
from core import metrics_files  # noqa: E402 - after the settings check above


def on_starting(server):
    metrics_files.prepare()


def child_exit(server, worker):
    metrics_files.mark_dead(worker.pid)


def on_exit(server):
    metrics_files.cleanup()
