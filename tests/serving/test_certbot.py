"""The nginx role's Let's Encrypt path: the certbot command line and the HTTP-01 site.

Nothing here reaches Let's Encrypt (neither the lab nor the tests can): the
command the role runs is checked as data, and a real nginx with the site the
role writes before the first certificate serves a challenge file from the
webroot, as certbot --webroot expects.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml  # type: ignore[import-untyped]

from pixelfox_lab import roles, sites
from pixelfox_lab.roles import ROLES
from tests.serving.conftest import CURRENT_SECRET
from tests.serving.nginx import NginxSite

EMAIL = "hostmaster@example.net"


def test_certbot_obtains_the_nodes_certificate_by_webroot() -> None:
    nginx = roles.variables(
        "nginx",
        {"nginx_sites": ["pixelfox-storage"], "nginx_storage_server_name": "s01.example.net",
         "nginx_certbot_email": EMAIL},
    )  # fmt: skip

    assert nginx["nginx_certbot_command"] == [
        "certbot", "certonly", "--webroot", "--webroot-path", "/var/www/html",
        "--non-interactive", "--agree-tos", "--email", EMAIL,
        "--keep-until-expiring", "--cert-name", "s01.example.net",
        "--domains", "s01.example.net",
    ]  # fmt: skip
    assert nginx["nginx_tls_certificate"] == "/etc/letsencrypt/live/s01.example.net/fullchain.pem"
    assert nginx["nginx_tls_certificate_key"] == "/etc/letsencrypt/live/s01.example.net/privkey.pem"


def test_the_staging_ca_and_more_names_reach_the_command_line() -> None:
    nginx = roles.variables(
        "nginx",
        {"nginx_sites": ["pixelfox-app"], "nginx_app_server_name": "app.example.net",
         "nginx_certbot_email": EMAIL, "nginx_certbot_staging": True,
         "nginx_certbot_names": ["app.example.net", "www.example.net"]},
    )  # fmt: skip

    command = nginx["nginx_certbot_command"]
    assert command[-3:] == ["--domains", "app.example.net,www.example.net", "--test-cert"]
    assert command[command.index("--cert-name") + 1] == "app.example.net"


def test_without_an_email_there_is_no_certbot_and_no_certificate() -> None:
    nginx = roles.variables("nginx", {"nginx_sites": ["pixelfox-storage"]})

    assert nginx["nginx_certbot_email"] == ""
    assert nginx["nginx_tls_certificate"] == ""
    tasks = yaml.safe_load((ROLES / "nginx" / "tasks" / "main.yml").read_text())
    include = next(t for t in tasks if t.get("ansible.builtin.include_tasks") == "certbot.yml")
    assert include["when"] == "nginx_certbot_email | length > 0"


def test_the_lab_never_asks_lets_encrypt() -> None:
    lab = ROLES.parent / "inventory" / "lab"
    assert "nginx_certbot_email" not in "".join(p.read_text() for p in lab.rglob("*.yml"))


def test_before_the_first_certificate_nginx_answers_the_challenge(tmp_path: Path) -> None:
    webroot = tmp_path / "webroot"
    (webroot / ".well-known" / "acme-challenge").mkdir(parents=True)
    (webroot / ".well-known" / "acme-challenge" / "token-123").write_text("token-123.key")
    (tmp_path / "pool").mkdir()
    # As certbot.yml writes it: the e-mail set, no certificate yet.
    site = NginxSite(
        tmp_path / "nginx",
        tmp_path / "pool",
        CURRENT_SECRET,
        extra={"nginx_certbot_email": EMAIL, "nginx_certbot_webroot": str(webroot),
               "nginx_tls_certificate": ""},
    ).start()  # fmt: skip
    try:
        challenge = httpx.get(f"{site.url}/.well-known/acme-challenge/token-123")
        other = httpx.get(f"{site.url}/.well-known/other")
    finally:
        site.stop()

    assert challenge.status_code == 200
    assert challenge.text == "token-123.key"
    # Everything else is still the node's site (a 404 of its catch-all).
    assert other.status_code == 404


def test_the_plain_site_without_certbot_is_unchanged() -> None:
    values = {**sites.DOCS_VALUES, "nginx_tls_certificate": "", "nginx_tls_certificate_key": ""}
    assert "acme-challenge" not in sites.storage_site(values)
