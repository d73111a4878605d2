"""What ./scripts/serve.sh works out before it starts anything, one subcommand per step:

- `port-free BIND VARIABLE`: exit 1 with one line naming the way out when BIND's TCP port is
  taken (run before the virtualenv exists: the standard library only, at module level too);
- `knobs`: serve.sh's own settings, `PROXIES SEED_DEMO` on one line, or exit 1 with the rule;
- `nginx-conf RUN LISTEN OUTER_PROXIES`: overworld/serve-nginx.conf filled in, as RUN/nginx.conf.

Each prints nothing else, so serve.sh reads the answers as it reads any command's.
"""

import os
import socket
import sys
from pathlib import Path

NGINX_TEMPLATE = Path(__file__).with_name("serve-nginx.conf")
PLACEHOLDER = "${OVERWORLD_SERVE_"


def busy_port(bind: str, variable: str) -> str | None:
    """Why serve.sh cannot listen on `bind` (from `variable`), None when it can or when `bind`
    is no TCP address (nginx itself reports on those). Bound as nginx binds (SO_REUSEADDR), so
    only a listening socket counts as busy."""
    given_host, _, port = bind.rpartition(":")
    if bind.startswith(("unix:", "fd://")) or not port.isdigit():
        return None
    host = given_host.strip("[]") or "0.0.0.0"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, int(port)))
        except OSError as exc:
            return (
                f"serve.sh: cannot listen on {bind} ({exc.strerror}); serve elsewhere with "
                f"{variable}={given_host or '127.0.0.1'}:{int(port) + 1} ./scripts/serve.sh"
            )
    return None


def knobs() -> tuple[int, bool]:
    """OVERWORLD_NUM_PROXIES and OVERWORLD_SEED_DEMO, read by the settings' parser
    (overworld/env.py: stripped, blank = unset, the same true and false words).

    Raises SystemExit with serve.sh's one line when the number of proxies is not one."""
    from overworld.env import env  # here: port-free runs before the virtualenv exists

    try:
        proxies = env.int("OVERWORLD_NUM_PROXIES", default=0)
        if proxies < 0:
            raise ValueError
    except ValueError:
        sys.exit("serve.sh: OVERWORLD_NUM_PROXIES must be a whole number of proxies (0 or more)")
    return proxies, env.bool("OVERWORLD_SEED_DEMO", default=True)


def nginx_conf(template: str, run: str, listen: str, outer_proxies: int, as_root: bool) -> str:
    """`template` with every `${OVERWORLD_SERVE_*}` filled in (serve-nginx.conf names each).

    Behind proxies the user trusts (`outer_proxies` > 0) their X-Request-ID and
    X-Forwarded-Proto are passed on; otherwise a client's are replaced by nginx's own. Raises
    KeyError for a placeholder it does not fill, rather than hand it to nginx.
    """
    trusted = outer_proxies > 0
    values = {
        "RUN": run,
        "LISTEN": listen,
        "APP": f"unix:{run}/gunicorn.sock",
        "REQUEST_ID": "$passed_request_id" if trusted else "$request_id",
        "FORWARDED_PROTO": "$passed_forwarded_proto" if trusted else "$scheme",
        # On a unix socket every client's address is "unix:": one cap for all of them, so none.
        "CLIENT_KEY": (
            "$overworld_uncounted"
            if trusted or listen.startswith("unix:")
            else "$binary_remote_addr"
        ),
    }
    head, *pieces = template.split(PLACEHOLDER)
    text = [head]
    for piece in pieces:
        name, brace, rest = piece.partition("}")
        if brace and name.isidentifier():
            text += [values[name], rest]
        else:  # not a placeholder: the template's comment naming them as ${OVERWORLD_SERVE_*}
            text += [PLACEHOLDER, piece]
    if as_root:  # workers as this same user: they use the run directory and the socket
        text.insert(0, "user root root;\n")
    return "".join(text)


def main(argv: list[str]) -> int:
    command, *args = argv
    if command == "port-free":
        bind, variable = args
        message = busy_port(bind, variable)
        if message:
            sys.exit(message)
    elif command == "knobs":
        proxies, seed_demo = knobs()
        print(proxies, int(seed_demo))
    elif command == "nginx-conf":
        run, listen, outer_proxies = args
        text = nginx_conf(
            NGINX_TEMPLATE.read_text(), run, listen, int(outer_proxies), os.geteuid() == 0
        )
        Path(run, "nginx.conf").write_text(text)
    else:
        sys.exit(f"overworld.serve: unknown command {command!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
