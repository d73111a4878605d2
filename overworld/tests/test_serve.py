"""What serve.sh works out before it starts (overworld/serve.py); serve.sh running it:
test_serve_script.py, test_serving.py."""

import socket

import pytest

from overworld import serve


def test_serve_busy_port_names_the_next_port_in_the_variable_given():
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]

        message = serve.busy_port(f"127.0.0.1:{port}", "OVERWORLD_BIND")

    assert message == (
        f"serve.sh: cannot listen on 127.0.0.1:{port} (Address already in use); serve elsewhere "
        f"with OVERWORLD_BIND=127.0.0.1:{port + 1} ./scripts/serve.sh"
    )


def test_serve_busy_port_ignores_a_socket_that_only_bound():
    # nginx binds with SO_REUSEADDR: a socket bound but not listening does not stop it.
    with socket.socket() as bound:
        bound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]

        assert serve.busy_port(f"127.0.0.1:{port}", "GUNICORN_BIND") is None


@pytest.mark.parametrize("bind", ["unix:/tmp/overworld.sock", "fd://3", "localhost"])
def test_serve_busy_port_leaves_other_addresses_to_nginx(bind):
    assert serve.busy_port(bind, "OVERWORLD_BIND") is None


@pytest.mark.parametrize(
    ("proxies", "seed", "expected"),
    [(None, None, (0, True)), (" 2 ", "0", (2, False)), ("", "no", (0, False))],
)
def test_serve_knobs_read_like_the_settings(monkeypatch, proxies, seed, expected):
    for name, value in (("OVERWORLD_NUM_PROXIES", proxies), ("OVERWORLD_SEED_DEMO", seed)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)

    assert serve.knobs() == expected


@pytest.mark.parametrize("proxies", ["-1", "two", "1.5"])
def test_serve_knobs_refuse_a_number_of_proxies_in_one_line(monkeypatch, proxies):
    monkeypatch.setenv("OVERWORLD_NUM_PROXIES", proxies)

    with pytest.raises(SystemExit) as refused:
        serve.knobs()

    assert refused.value.code == (
        "serve.sh: OVERWORLD_NUM_PROXIES must be a whole number of proxies (0 or more)"
    )


TEMPLATE = (
    "# fills ${OVERWORLD_SERVE_*}\n"
    "pid ${OVERWORLD_SERVE_RUN}/nginx.pid; listen ${OVERWORLD_SERVE_LISTEN};\n"
    "server ${OVERWORLD_SERVE_APP}; zone ${OVERWORLD_SERVE_CLIENT_KEY};\n"
    "id ${OVERWORLD_SERVE_REQUEST_ID}; proto ${OVERWORLD_SERVE_FORWARDED_PROTO};\n"
)


def test_serve_nginx_conf_facing_clients_uses_nginx_own_id_scheme_and_address():
    text = serve.nginx_conf(TEMPLATE, "/run/x", "127.0.0.1:8000", 0, as_root=False)

    assert text == (
        "# fills ${OVERWORLD_SERVE_*}\n"
        "pid /run/x/nginx.pid; listen 127.0.0.1:8000;\n"
        "server unix:/run/x/gunicorn.sock; zone $binary_remote_addr;\n"
        "id $request_id; proto $scheme;\n"
    )


def test_serve_nginx_conf_behind_trusted_proxies_passes_theirs_on_and_counts_no_one():
    text = serve.nginx_conf(TEMPLATE, "/run/x", "127.0.0.1:8000", 1, as_root=False)

    assert "zone $overworld_uncounted;" in text
    assert "id $passed_request_id; proto $passed_forwarded_proto;" in text


def test_serve_nginx_conf_on_a_unix_socket_counts_no_one():
    text = serve.nginx_conf(TEMPLATE, "/run/x", "unix:/run/x/front.sock", 0, as_root=False)

    assert "zone $overworld_uncounted;" in text
    assert "id $request_id; proto $scheme;" in text


def test_serve_nginx_conf_as_root_runs_the_workers_as_root():
    text = serve.nginx_conf(TEMPLATE, "/run/x", "127.0.0.1:8000", 0, as_root=True)

    assert text.startswith("user root root;\n# fills")


def test_serve_nginx_conf_refuses_a_placeholder_it_does_not_fill():
    with pytest.raises(KeyError, match="NEW"):
        serve.nginx_conf("x ${OVERWORLD_SERVE_NEW};", "/run/x", "127.0.0.1:8000", 0, False)


def test_serve_nginx_conf_fills_every_placeholder_of_the_real_template():
    text = serve.nginx_conf(
        serve.NGINX_TEMPLATE.read_text(), "/run/x", "127.0.0.1:8000", 0, as_root=False
    )

    assert "${OVERWORLD_SERVE_" not in text.replace("${OVERWORLD_SERVE_*}", "")
    assert "listen 127.0.0.1:8000 backlog=4096 default_server;" in text
