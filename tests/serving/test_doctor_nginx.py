"""``pixelfox doctor --nginx-url`` proves that nginx checks signed links itself."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pixelfox_app.config import AppSettings
from pixelfox_cli import doctor
from tests.serving.conftest import CURRENT_SECRET, Files
from tests.serving.nginx import NGINX, NginxSite, main_conf
from tests.support import Service, free_port


async def _check(nginx_url: str, secret: str) -> list[doctor.Result]:
    ctx = doctor.Context(AppSettings(link_secret=secret), nginx_url=nginx_url)
    results: list[doctor.Result] = []
    await doctor.run(ctx, results.append, checks=[doctor.check_nginx])
    return results


async def test_doctor_passes_nginx_that_checks_signed_links_and_leaves_no_error_logged(
    nginx: NginxSite,
) -> None:
    results = await _check(nginx.url, CURRENT_SECRET)
    assert [r.status for r in results] == ["ok"], results
    # The signed probe finds no file: a 404 in the access log, not an error of nginx.
    assert "open() failed" not in nginx.error_log()


async def test_doctor_fails_nginx_that_knows_another_secret(nginx: NginxSite) -> None:
    results = await _check(nginx.url, "a-secret-nginx-never-heard-of")
    assert [r.status for r in results] == ["fail"]
    assert "correctly signed link is refused" in results[0].detail


async def test_doctor_fails_nginx_that_serves_private_files_without_a_check(
    files: Files, tmp_path: Path
) -> None:
    # A plain static location over the pool: what a hand-written config without
    # the signed-link block amounts to. It must not pass the doctor.
    probe = files.pool / "private" / "original" / "doctor-probe.jpg"
    probe.parent.mkdir(parents=True, exist_ok=True)
    probe.write_bytes(b"x")
    port = free_port()
    site = f"server {{ listen 127.0.0.1:{port}; location /uploads/ {{ alias {files.pool}/; }} }}"
    directory = tmp_path / "plain"
    directory.mkdir()
    conf = directory / "nginx.conf"
    conf.write_text(main_conf(directory, site))
    nginx = Service(
        "nginx", [NGINX, "-p", str(directory), "-c", str(conf)], {}, directory / "nginx.out"
    ).start()
    try:
        await _wait_listening(port)
        results = await _check(f"http://127.0.0.1:{port}", CURRENT_SECRET)
    finally:
        probe.unlink()
        nginx.stop()
    assert [r.status for r in results] == ["fail"]
    assert "without signature is let through" in results[0].detail, results


async def _wait_listening(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"nginx did not listen on {port}")
