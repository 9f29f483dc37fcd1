"""Internal traffic over TLS: clients trust PIXELFOX_CA_FILE, check the name, refuse the rest.

A real Redis started from the redis role's own configuration (TLS on, no plain
port) and a real hypercorn serving HTTPS, both with certificates of a CA this
test makes (pixelfox_lab.ca, as the lab does); every client is built the way
the services build theirs (pixelfox_common.tls).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import yaml
from arq.connections import create_pool
from hypercorn.asyncio import serve
from hypercorn.config import Config

from pixelfox_common import tls
from pixelfox_lab import roles
from pixelfox_lab.ca import CertificateAuthority
from pixelfox_storage.appapi import AppAPI
from pixelfox_storage.config import StorageSettings
from tests.support import free_port

PASSWORD = "tls-test-password"
PREFIX = "pftls"
# The name the server certificates carry; 127.0.0.1 is deliberately not in them.
NAME = "localhost"


@dataclass(frozen=True)
class Pki:
    ca: CertificateAuthority
    # A CA that signed nothing the servers present.
    stranger: CertificateAuthority
    folder: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca = CertificateAuthority.create(folder / "ca")
    issued = ca.issue(folder / "redis", "redis", [NAME])
    ca.issue(folder / "https", "server", [NAME])
    # The redis role's file names in its TLS directory.
    shutil.copy(ca.cert_file, issued.cert_file.parent / "ca.crt")
    return Pki(ca, CertificateAuthority.create(folder / "stranger", "Someone else"), folder)


@pytest.fixture(scope="module")
def tls_redis(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """redis-server with the role's redis.conf (redis_tls on), in the foreground on loopback."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    work = tmp_path_factory.mktemp("redis")
    port = free_port()
    conf = work / "redis.conf"
    values = {
        "redis_bind_addresses": ["127.0.0.1"],
        "redis_port": port,
        "redis_password": PASSWORD,
        "redis_tls": True,
        "redis_tls_ca_file": str(pki.ca.cert_file),
        "redis_tls_dir": str(pki.folder / "redis"),
        "redis_acl_file": str(work / "users.acl"),
        "pixelfox_redis_prefix": PREFIX,
        "pixelfox_redis_password": PASSWORD,
        "pixelfox_redis_worker_password": PASSWORD + "-worker",
        "pixelfox_node_credential_master": "a-master",
        "groups": {"storage": []},
    }
    # The role's own users: the tests connect as the app's user <prefix>-app.
    (work / "users.acl").write_text(roles.render("redis", "etc/redis/users.acl.j2", values))
    conf.write_text(roles.render("redis", "etc/redis/redis.conf.j2", values))
    # The role's file daemonizes and writes under /var; here it runs as a child.
    argv = ["redis-server", str(conf), "--daemonize", "no", "--pidfile", str(work / "pid")]
    argv += ["--logfile", str(work / "log"), "--dir", str(work), "--appendonly", "no"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        client = redis.Redis.from_url(
            _url(port), **tls.redis_options(_url(port), str(pki.ca.cert_file))
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((work / "log").read_text(errors="replace")) from None
                time.sleep(0.1)
        client.close()
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def _url(port: int, host: str = NAME, scheme: str = "rediss") -> str:
    return f"{scheme}://{PREFIX}-app:{PASSWORD}@{host}:{port}/0"


def test_the_role_renders_tls_only_redis(pki: Pki) -> None:
    conf = roles.render(
        "redis",
        "etc/redis/redis.conf.j2",
        {"redis_bind_addresses": ["127.0.0.1", "10.0.0.10"], "redis_tls": True,
         "redis_tls_ca_file": "ca.crt", "pixelfox_redis_password": "x"},
    )  # fmt: skip
    lines = conf.splitlines()
    assert "port 0" in lines
    assert "tls-port 6379" in lines
    assert "tls-auth-clients no" in lines
    assert "tls-cert-file /etc/redis/tls/redis.crt" in lines
    plain = roles.render(
        "redis", "etc/redis/redis.conf.j2",
        {"redis_bind_addresses": ["127.0.0.1"], "pixelfox_redis_password": "x"},
    )  # fmt: skip
    assert "port 6379" in plain.splitlines()
    assert "tls-port" not in plain


def test_redis_over_tls_works_with_the_ca(pki: Pki, tls_redis: int) -> None:
    url = _url(tls_redis)
    client = redis.Redis.from_url(url, **tls.redis_options(url, str(pki.ca.cert_file)))
    try:
        assert client.set(f"{PREFIX}:tls-test", "1", ex=5)
        assert client.get(f"{PREFIX}:tls-test") == b"1"
    finally:
        client.close()


async def test_arq_and_the_env_setting_reach_redis_over_tls(
    pki: Pki, tls_redis: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Workers without a settings object (the metrics listener) read PIXELFOX_CA_FILE.
    monkeypatch.setenv(tls.CA_FILE_ENV, str(pki.ca.cert_file))
    pool = await create_pool(tls.arq_settings(_url(tls_redis)))
    try:
        assert await pool.ping()
    finally:
        await pool.aclose()


def test_redis_with_another_ca_is_refused(pki: Pki, tls_redis: int) -> None:
    url = _url(tls_redis)
    client = redis.Redis.from_url(url, **tls.redis_options(url, str(pki.stranger.cert_file)))
    with pytest.raises(redis.ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        client.ping()
    client.close()


def test_redis_with_the_system_cas_is_refused(tls_redis: int) -> None:
    url = _url(tls_redis)
    client = redis.Redis.from_url(url, **tls.redis_options(url, ""))
    with pytest.raises(redis.ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        client.ping()
    client.close()


def test_redis_under_another_name_is_refused(pki: Pki, tls_redis: int) -> None:
    url = _url(tls_redis, host="127.0.0.1")
    client = redis.Redis.from_url(url, **tls.redis_options(url, str(pki.ca.cert_file)))
    with pytest.raises(redis.ConnectionError, match=r"Hostname mismatch|IP address mismatch"):
        client.ping()
    client.close()


def test_redis_has_no_plain_text_port(pki: Pki, tls_redis: int) -> None:
    url = _url(tls_redis, scheme="redis")
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    # The TLS port does not speak plain RESP: the server drops the connection.
    with pytest.raises(redis.ConnectionError):
        client.ping()
    client.close()


async def test_arq_with_another_ca_is_refused(pki: Pki, tls_redis: int) -> None:
    settings = tls.arq_settings(_url(tls_redis), str(pki.stranger.cert_file))
    settings.conn_retries = 0
    with pytest.raises(redis.exceptions.ConnectionError):
        await create_pool(settings)


@pytest.mark.ansible
def test_the_redis_roles_handler_reloads_the_users_over_tls(
    pki: Pki, tls_redis: int, tmp_path: Path
) -> None:
    # The role's handlers and vars as Ansible runs them: a role whose handlers and
    # vars are the redis role's, and a task that notifies "Reload the Redis users"
    # (as the ACL file's template does) against the TLS-only Redis above.
    from tests.ansible.helpers import local_playbook

    role = tmp_path / "roles" / "redis_handlers"
    (role / "tasks").mkdir(parents=True)
    for folder in ("handlers", "vars"):
        (role / folder).symlink_to(roles.ROLES / "redis" / folder)
    (role / "tasks" / "main.yml").write_text(
        "- name: Change the users\n"
        "  ansible.builtin.command: 'true'\n"
        "  changed_when: true\n"
        "  notify: Reload the Redis users\n"
    )
    values = {"redis_port": tls_redis, "redis_tls": True, "redis_tls_server_name": NAME,
              "redis_tls_dir": str(pki.folder / "redis"), "redis_tls_ca_file": "ca.crt",
              "pixelfox_redis_prefix": PREFIX, "pixelfox_redis_password": PASSWORD,
              "pixelfox_redis_worker_password": PASSWORD + "-worker"}  # fmt: skip
    playbook = tmp_path / "reload.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "connection": "local", "gather_facts": False,
        "vars": {**roles.defaults("redis"), **values}, "roles": ["redis_handlers"]}]))  # fmt: skip

    result = local_playbook(playbook, "-v", roles_path=tmp_path / "roles")

    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "RUNNING HANDLER [redis_handlers : Reload the Redis users]" in output, output[-4000:]
    # Its redis-cli spoke TLS, asking for the certificate's name (the Redis has no plain port).
    assert re.search(rf"--tls\W+--sni\W+{NAME}\W+--cacert", output), output[-4000:]


# --- HTTPS: a real hypercorn with the CA's certificate ---------------------------


async def _hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            event = (await receive())["type"]  # lifespan.startup, then lifespan.shutdown
            await send({"type": f"{event}.complete"})
            if event == "lifespan.shutdown":
                return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": b"hello over tls"})


@pytest.fixture
async def https_url(pki: Pki) -> AsyncIterator[str]:
    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.certfile = str(pki.folder / "https" / "server.crt")
    config.keyfile = str(pki.folder / "https" / "server.key")
    config.accesslog = None
    stop = asyncio.Event()
    server = asyncio.create_task(serve(_hello, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    try:
        while not server.done():
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        assert not server.done(), server
        yield f"https://{NAME}:{port}/"
    finally:
        stop.set()
        await server


async def test_the_node_reaches_the_app_over_https_with_the_ca(pki: Pki, https_url: str) -> None:
    api = AppAPI(StorageSettings(app_url=https_url, ca_file=str(pki.ca.cert_file)))
    try:
        response = await api.http.get(https_url)
    finally:
        await api.aclose()
    assert response.status_code == 200
    assert response.text == "hello over tls"


async def test_https_with_another_ca_is_refused(pki: Pki, https_url: str) -> None:
    api = AppAPI(StorageSettings(app_url=https_url, ca_file=str(pki.stranger.cert_file)))
    try:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await api.http.get(https_url)
    finally:
        await api.aclose()


async def test_https_under_another_name_is_refused(pki: Pki, https_url: str) -> None:
    by_address = https_url.replace(NAME, "127.0.0.1")
    async with httpx.AsyncClient(verify=tls.http_verify(str(pki.ca.cert_file))) as client:
        with pytest.raises(httpx.ConnectError, match=r"Hostname mismatch|IP address mismatch"):
            await client.get(by_address)


def test_the_shared_context_always_checks_names_and_certificates(pki: Pki) -> None:
    for ca in ("", str(pki.ca.cert_file)):
        context = tls.ssl_context(ca)
        assert context.check_hostname is True
        assert context.verify_mode is ssl.CERT_REQUIRED


async def test_the_services_redis_clients_use_tls(pki: Pki, tls_redis: int) -> None:
    from pixelfox_app import nodequeue
    from pixelfox_storage.node_jobs import queue

    url, ca = _url(tls_redis), str(pki.ca.cert_file)
    app = nodequeue.connect(url, ca)
    node = await queue.connect(url, ca)
    try:
        assert await app.ping()
        assert await node.ping()
    finally:
        await app.aclose()
        await node.aclose()


def test_the_ca_file_is_a_setting_of_app_and_node(monkeypatch: pytest.MonkeyPatch) -> None:
    from pixelfox_app.config import AppSettings

    monkeypatch.setenv("PIXELFOX_CA_FILE", "/etc/pixelfox/ca.crt")

    assert AppSettings.from_env().ca_file == "/etc/pixelfox/ca.crt"
    assert StorageSettings.from_env().ca_file == "/etc/pixelfox/ca.crt"


@pytest.mark.parametrize("role", ["pixelfox_app", "pixelfox_storage"])
def test_the_roles_switch_to_rediss_and_name_the_ca_when_redis_has_a_certificate(
    role: str,
) -> None:
    given = {
        "pixelfox_control_host": "app",
        "pixelfox_redis_host": "app.example.net",
        "pixelfox_redis_password": "pw",
        "pixelfox_ca_file": "files/ca.crt",
        "pixelfox_redis_worker_password": "wpw",
        "pixelfox_storage_node_id": "s01",
        "pixelfox_node_credential_master": "master",
    }
    with_cert = roles.variables(
        role, {**given, "hostvars": {"app": {"redis_tls_cert_file": "files/app.crt"}}}
    )
    without = roles.variables(role, {**given, "hostvars": {"app": {}}, "pixelfox_ca_file": ""})

    # Each as its own Redis user (pixelfox-app, pixelfox-node-s01), by the certificate's name.
    assert re.fullmatch(
        r"rediss://pixelfox-[a-z0-9-]+:\w+@app\.example\.net:6379/0", with_cert[f"{role}_redis_url"]
    )
    assert with_cert[f"{role}_ca_file"] == "/etc/pixelfox/ca.crt"
    assert without[f"{role}_redis_url"].startswith("redis://pixelfox-")
    assert without[f"{role}_ca_file"] == ""


def test_redis_tls_given_as_text_false_stays_plain() -> None:
    # -e pixelfox_redis_tls=false arrives as the text "false".
    conf = roles.render(
        "redis", "etc/redis/redis.conf.j2",
        {"redis_bind_addresses": ["127.0.0.1"], "pixelfox_redis_password": "x",
         "pixelfox_redis_tls": "false", "redis_tls_cert_file": "app.crt"},
    )  # fmt: skip
    assert "tls-port" not in conf
