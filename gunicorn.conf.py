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

from django.core.exceptions import ImproperlyConfigured

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "0").strip().lower() in {
    "1",
    "true",
    "yes",
    "on",
}
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
keepalive = 5
# The access log is gunicorn's own unless GUNICORN_ACCESS_LOG=0 (an app that writes its own
# access line, or a benchmark, turns it off).
_access_log = os.environ.get("GUNICORN_ACCESS_LOG", "1").strip().lower()
accesslog = None if _access_log in {"0", "false", "no", "off"} else "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms'
# gunicorn >= 25 opens a control socket for `gunicornc` at one fixed path per user
# ($HOME/.gunicorn/gunicorn.ctl), which every other gunicorn of that user (another checkout, a
# test server) would take over or delete. Off unless a path is given.
_control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "").strip()
control_socket_disable = not _control_socket
if _control_socket:
    control_socket = _control_socket

# --- Graceful stop (docs/deployment.md, "Stopping and reloading") ---------------------
# On SIGTERM (what an orchestrator sends) or a SIGHUP reload, workers stop accepting and get
# this many seconds to finish the requests they already accepted before they are killed. Keep
# it under the orchestrator's own grace period (Kubernetes: terminationGracePeriodSeconds, 30).
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "25"))

# --- Refuse to start without a secret key, in one line --------------------------------------------
# The settings are imported here, in the master, before it binds or forks: a deployment without
# DJANGO_SECRET_KEY stops with the settings' one-line reason and exit status 1, instead of every
# worker failing to boot with a traceback (overworld/local_key.py: what a checkout may do instead).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "overworld.settings")  # as overworld/wsgi.py
try:
    importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"])
except ImproperlyConfigured as exc:
    sys.exit(f"gunicorn: {exc}")
