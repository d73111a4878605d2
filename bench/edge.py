"""The edge (deploy/nginx) run on this machine: nginx from the repository's template in front of
app servers, for overworld/tests/test_edge.py and bench/rolling_restart.py.

- `start_app_server()` is the one place that says how one app server is started (gunicorn with
  gunicorn.conf.py, as the Docker image starts it);
- `Edge` renders deploy/nginx/nginx.conf.template exactly as the official image's envsubst step
  does (only the ${OVERWORLD_EDGE_*} placeholders), with its own prefix, pid file, temporary
  paths and loopback ports, and runs nginx on it: the system's nginx and its ports 80/443 are
  never touched;
- `make_certificate()` makes a throwaway self-signed certificate with openssl.

Loopback only; every process started here is stopped by its own pid.
"""

import getpass
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from overworld.env import foreign_environment

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx" / "nginx.conf.template"
PLACEHOLDER = re.compile(r"\$\{(OVERWORLD_EDGE_[A-Z0-9_]+)\}")


def nginx_binary() -> str | None:
    """Debian's nginx (in /usr/sbin, which a non-root PATH may lack), or None."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")


def render(text: str, values: dict[str, str]) -> str:
    """Substitute ${OVERWORLD_EDGE_*} as envsubst does; every placeholder must have a value."""
    missing = set(PLACEHOLDER.findall(text)) - set(values)
    if missing:
        raise KeyError(f"no value for {sorted(missing)}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def make_certificate(directory: Path) -> Path:
    """A self-signed certificate for localhost and 127.0.0.1: fullchain.pem, privkey.pem.

    ECDSA P-256, as a deployment should use (Let's Encrypt issues them): signing a handshake
    costs about a tenth of RSA 2048's, which counts when a thousand clients connect at once.
    """
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(directory / "privkey.pem"), "-out", str(directory / "fullchain.pem")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return directory


def tls_context(certs: Path) -> ssl.SSLContext:
    """A client context that trusts exactly the throwaway certificate."""
    return ssl.create_default_context(cafile=str(certs / "fullchain.pem"))


def free_port(host: str = "127.0.0.1") -> int:
    """A free port, from OVERWORLD_TEST_PORTS ("19000-19999") when set."""
    span = os.environ.get("OVERWORLD_TEST_PORTS", "").strip()
    candidates = range(int(span.split("-")[0]), int(span.split("-")[1]) + 1) if span else [0]
    for port in candidates:
        if port in _taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            chosen = probe.getsockname()[1]
        _taken.add(chosen)
        return chosen
    raise RuntimeError(f"no free port in OVERWORLD_TEST_PORTS={span}")


_taken: set[int] = set()


# --- app servers ------------------------------------------------------------------------------


def start_app_server(port: int, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """Start one app server on 127.0.0.1:`port`, as the image and compose's `web` start one.

    gunicorn with gunicorn.conf.py: the app server that scripts/serve.sh also runs (behind a
    buffering nginx of its own there; behind the edge that layer is the edge). The one place
    to change when the app server changes: callers need a process, in a session of its own so
    that its workers are signalled with it, that serves HTTP on that port and stops gracefully
    on SIGTERM.
    """
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "overworld.wsgi"],
            cwd=ROOT,
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def app_env(database_url: str, **overrides: str) -> dict[str, str]:
    """The environment of an app server behind the edge: production settings, one proxy."""
    env = foreign_environment()
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SECRET_KEY="edge-tests-only-secret-key-0123456789abcdef0123456789",
        DJANGO_DEBUG="0",
        DJANGO_ALLOWED_HOSTS="localhost,127.0.0.1",
        DJANGO_LOG_LEVEL="WARNING",
        GUNICORN_LOG_LEVEL="warning",
        PYTHONDONTWRITEBYTECODE="1",
        # What the app needs behind the edge (docs/deployment.md, "The edge: nginx").
        OVERWORLD_NUM_PROXIES="1",
        DJANGO_SECURE_PROXY_SSL_HEADER="1",
        DJANGO_SECURE_SSL_REDIRECT="1",
    )
    env.update(overrides)
    return env


class AppServer:
    """One app server on a port of its own; restartable."""

    def __init__(self, env: dict[str, str], log_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.log_path = log_dir / f"app-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> "AppServer":
        self.process = start_app_server(self.port, self.env, self.log_path)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"app server exited early:\n{self.log()}")
            if self.ready():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"app server not ready within {timeout} s:\n{self.log()}")

    def ready(self) -> bool:
        # Straight to the app, over http: X-Forwarded-Proto says what the edge would.
        request = urllib.request.Request(
            f"{self.url}/readyz", headers={"X-Forwarded-Proto": "https"}
        )
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return response.status == 200
        except (OSError, urllib.error.HTTPError):
            return False

    def stop(self, timeout: float = 40) -> None:
        """SIGTERM (graceful: accepted requests finish), then wait for the whole group."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]


# --- nginx ------------------------------------------------------------------------------------


class Edge:
    """nginx with the repository's configuration, on loopback ports, in `workdir`."""

    def __init__(self, workdir: Path, certs: Path, app_ports: tuple[int, int]):
        self.workdir = workdir
        self.certs = certs
        self.app_ports = tuple(app_ports)
        self.http_port = free_port()
        self.https_port = free_port()
        self.https_url = f"https://127.0.0.1:{self.https_port}"
        self.http_url = f"http://127.0.0.1:{self.http_port}"
        self.run_dir = workdir / "run"
        self.logs = workdir / "logs"
        self.conf = workdir / "nginx.conf"
        self.process: subprocess.Popen | None = None

    def values(self) -> dict[str, str]:
        return {
            "OVERWORLD_EDGE_USER": getpass.getuser(),
            "OVERWORLD_EDGE_RUN": str(self.run_dir),
            "OVERWORLD_EDGE_LOGS": str(self.logs),
            "OVERWORLD_EDGE_HTTP": f"127.0.0.1:{self.http_port}",
            "OVERWORLD_EDGE_HTTPS": f"127.0.0.1:{self.https_port}",
            "OVERWORLD_EDGE_CERTS": str(self.certs),
            "OVERWORLD_EDGE_APP_1": f"127.0.0.1:{self.app_ports[0]}",
            "OVERWORLD_EDGE_APP_2": f"127.0.0.1:{self.app_ports[1]}",
        }

    def drain(self, number: int) -> None:
        """Send no new request to app server `number` (1 or 2): the drain-N file."""
        (self.run_dir / f"drain-{number}").touch()

    def undrain(self, number: int) -> None:
        (self.run_dir / f"drain-{number}").unlink(missing_ok=True)

    def start(self) -> "Edge":
        for directory in (self.run_dir, self.logs):
            directory.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(render(TEMPLATE.read_text(), self.values()))
        self._nginx("-t", capture=True)
        self.process = subprocess.Popen(
            [nginx_binary(), "-p", str(self.workdir), "-c", str(self.conf), "-e",
             str(self.logs / "error.log"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited early:\n{self.error_log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.https_port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"nginx did not listen within 20 s:\n{self.error_log()}")

    def _nginx(self, *args: str, capture: bool = False) -> None:
        result = subprocess.run(
            [nginx_binary(), "-p", str(self.workdir), "-c", str(self.conf), "-e",
             str(self.logs / "error.log"), *args],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"nginx {' '.join(args)} failed:\n{result.stderr}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGQUIT)  # graceful
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def error_log(self) -> str:
        path = self.logs / "error.log"
        return path.read_text(errors="replace")[-5000:] if path.exists() else ""

    def access_log(self) -> str:
        path = self.logs / "access.log"
        return path.read_text(errors="replace") if path.exists() else ""
