"""gunicorn settings, each overridable from the environment (docs/deployment.md).

Threaded workers keep client connections alive and roughly double throughput over sync ones on
this 2-core machine (docs/performance.md); more processes than cores buys nothing.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
keepalive = 5
accesslog = "-"
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
