"""The clinic deployment the README prescribes, driven end to end.

nginx runs the README's own server block (read from README.md, so the two
cannot drift) with a certificate made here; gunicorn and the worker run as
the README's two services start them, with `BEHIND_HTTPS_PROXY = 1` and
enrolled kiosks in `instance/config.py`; Chromium reaches the app only
through the proxy, under the README's host name. Staff sign in, enroll a
kiosk, a patient finishes a visit on it, staff print the handout and sign
out. Every POST must succeed, every cookie must be Secure and every answer
carry HSTS.

nginx listens on 127.0.0.1 only, on free ports, with its pid file, logs and
temporary files in the test's own folder. Without nginx the test skips,
saying why, unless KIOSK_REQUIRE_NGINX is set or CI=true, where that is a failure.
"""

from __future__ import annotations

import base64
import http.client
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
NGINX_MISSING = "nginx is not installed (apt-get install nginx-light)"
# In CI (.ci/run sets KIOSK_REQUIRE_NGINX=1; CI=true counts too) a missing nginx is a failure.
NGINX_REQUIRED = (
    os.environ.get("KIOSK_REQUIRE_NGINX", "").strip() not in ("", "0")
    or os.environ.get("CI", "").lower() == "true"
)
OPENSSL = shutil.which("openssl")

if not Path(NGINX).exists() and not NGINX_REQUIRED:
    pytest.skip(NGINX_MISSING, allow_module_level=True)

from playwright.sync_api import Response, expect, sync_playwright  # noqa: E402

from kiosk.config import SETTINGS  # noqa: E402

from .conftest import STAFF_PASSWORD  # noqa: E402
from .support.browser import (  # noqa: E402
    BROWSER_REQUIRED,
    CHROMIUM,
    CHROMIUM_ARGS,
    CHROMIUM_MISSING,
    KIOSK_SCREEN,
    WELCOME_HEADING,
    Patient,
)
from .support.serve import free_port, health, start, stop, wait_until  # noqa: E402

if not CHROMIUM.exists() and not BROWSER_REQUIRED:
    pytest.skip(CHROMIUM_MISSING, allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.nginx, pytest.mark.processes]

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
VENV_BIN = Path(sys.executable).parent
DESK_SCREEN = {"width": 1366, "height": 900}
HSTS = "max-age=31536000"


# --- the README's deployment, read from the README ------------------------------------------


def readme_block(language: str, containing: str) -> str:
    """The one fenced block of `language` in the README's deployment section that holds `containing`."""
    section = README.read_text().partition("## Deploying in a clinic")[2].partition("\n## ")[0]
    blocks = [
        body
        for lang, body in re.findall(r"^```(\w*)\n(.*?)^```", section, re.DOTALL | re.MULTILINE)
        if lang == language and containing in body
    ]
    assert len(blocks) == 1, (
        f"the README's deployment section has {len(blocks)} {language} blocks with {containing!r}"
    )
    return blocks[0]


def replaced(text: str, replacements: dict[str, str], what: str) -> str:
    """`text` with each of `replacements` made exactly once: a README that changed in a
    way this test does not understand fails here instead of testing something else."""
    for old, new in replacements.items():
        assert text.count(old) == 1, f"the README's {what} no longer has exactly one {old!r}"
        text = text.replace(old, new)
    return text


def readme_nginx_server(*, https_port: int, http_port: int, app_port: int, cert: Path, key: Path) -> str:
    """The README's nginx block, on loopback and free ports, with the test's certificate."""
    return replaced(
        readme_block("nginx", "proxy_pass"),
        {
            "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
            "listen 80;": f"listen 127.0.0.1:{http_port};",
            "/etc/ssl/kiosk.crt": str(cert),
            "/etc/ssl/kiosk.key": str(key),
            "http://127.0.0.1:8000": f"http://127.0.0.1:{app_port}",
        },
        "nginx block",
    )


def readme_exec_start(unit: str, *, app_port: int) -> list[str]:
    """The command of one of the README's systemd services, run from this checkout."""
    block = readme_block("ini", f"/etc/systemd/system/{unit}")
    line = next(line for line in block.splitlines() if line.startswith("ExecStart="))
    command = line.removeprefix("ExecStart=").replace("/opt/kiosk/.venv/bin/", f"{VENV_BIN}/")
    if "--bind" in command:
        command = replaced(command, {"127.0.0.1:8000": f"127.0.0.1:{app_port}"}, f"{unit} command")
    return shlex.split(command)


# --- the parts --------------------------------------------------------------------------------


def make_certificate(folder: Path, host: str) -> tuple[Path, Path, str]:
    """A self-signed certificate for `host`: its file, its key's file, and the
    base64 SHA-256 of its public key, which the test's Chromium trusts."""
    if OPENSSL is None:
        pytest.fail("openssl is not installed (apt-get install openssl)", pytrace=False)
    cert, key = folder / "kiosk.crt", folder / "kiosk.key"
    subprocess.run(
        [OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-days", "2", "-subj", f"/CN={host}", "-addext", f"subjectAltName=DNS:{host}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    public_key = subprocess.run(
        [OPENSSL, "x509", "-in", str(cert), "-noout", "-pubkey"], check=True, capture_output=True
    ).stdout
    der = subprocess.run(
        [OPENSSL, "pkey", "-pubin", "-outform", "der"], input=public_key, check=True, capture_output=True
    ).stdout
    digest = subprocess.run(
        [OPENSSL, "dgst", "-sha256", "-binary"], input=der, check=True, capture_output=True
    ).stdout
    return cert, key, base64.b64encode(digest).decode()


def accepts_tls(port: int) -> bool:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as raw, context.wrap_socket(raw):
            return True
    except OSError:
        return False


@dataclass
class Deployment:
    base_url: str  # the app as browsers reach it: through the proxy, by the README's host name
    host: str
    https_port: int
    http_port: int
    spki: str
    cert: Path
    instance: Path
    admin_password: str
    nginx_access_log: Path
    processes: list[tuple[str, subprocess.Popen]] = field(default_factory=list)


@pytest.fixture
def deployment(tmp_path) -> Iterator[Deployment]:
    """The app, its worker and nginx in front, set up as the README says."""
    if not Path(NGINX).exists():
        pytest.fail(f"{NGINX_MISSING}; this run requires nginx (KIOSK_REQUIRE_NGINX or CI)", pytrace=False)
    host = re.search(r"server_name ([\w.-]+);", readme_block("nginx", "proxy_pass"))[1]
    app_port, https_port, http_port = free_port(), free_port(), free_port()

    # The settings as a clinic writes them in instance/config.py.
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o700)
    (instance / "config.py").write_text(
        'CLINIC_NAME = "Riverside Spine Clinic"\nBEHIND_HTTPS_PROXY = 1\nKIOSK_ENROLLMENT = 1\n'
    )
    # Only instance/config.py speaks: no setting of the test's own environment leaks in.
    outside = {*SETTINGS, "DATABASE_URL", "SECRET_KEY", "PRINT_DIRECTORY"}
    env = {k: v for k, v in os.environ.items() if k not in outside}
    env["KIOSK_INSTANCE_PATH"] = str(instance)
    password_file = tmp_path / "admin-password"
    password_file.write_text(STAFF_PASSWORD + "\n")
    flask = [str(VENV_BIN / "flask"), "--app", "wsgi", "kiosk"]
    for command in (["init-db"], ["ensure-admin", "--password-file", str(password_file)]):
        subprocess.run([*flask, *command], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)

    cert, key, spki = make_certificate(tmp_path, host)
    nginx_dir = tmp_path / "nginx"
    nginx_dir.mkdir()
    # The master process runs as whoever runs the tests; as root its workers
    # would be "nobody", who cannot enter the test's private temporary folder.
    user = "user root;\n" if os.geteuid() == 0 else ""
    (nginx_dir / "nginx.conf").write_text(
        f"""{user}worker_processes 1;
pid {nginx_dir}/nginx.pid;
error_log {nginx_dir}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {nginx_dir}/access.log;
    client_body_temp_path {nginx_dir}/client_body;
    proxy_temp_path {nginx_dir}/proxy;
    fastcgi_temp_path {nginx_dir}/fastcgi;
    uwsgi_temp_path {nginx_dir}/uwsgi;
    scgi_temp_path {nginx_dir}/scgi;
{readme_nginx_server(https_port=https_port, http_port=http_port, app_port=app_port, cert=cert, key=key)}
}}
"""
    )

    made = Deployment(
        base_url=f"https://{host}:{https_port}",
        host=host,
        https_port=https_port,
        http_port=http_port,
        spki=spki,
        cert=cert,
        instance=instance,
        admin_password=STAFF_PASSWORD,
        nginx_access_log=nginx_dir / "access.log",
    )

    def started(name: str, command: list[str]) -> subprocess.Popen:
        process = start(command, env=env, log=tmp_path / f"{name}.log")
        made.processes.append((name, process))
        return process

    try:
        web = started("web", readme_exec_start("kiosk-web.service", app_port=app_port))
        wait_until(lambda: health(app_port), web, tmp_path / "web.log", "gunicorn")
        worker = started("worker", readme_exec_start("kiosk-worker.service", app_port=app_port))
        wait_until(
            lambda: (health(app_port) or {}).get("worker") == "running",
            worker,
            tmp_path / "worker.log",
            "the worker",
        )
        nginx = started(
            "nginx",
            [NGINX, "-p", str(nginx_dir), "-e", str(nginx_dir / "error.log"), "-c", str(nginx_dir / "nginx.conf"),
             "-g", "daemon off;"],
        )  # fmt: skip
        wait_until(lambda: accepts_tls(https_port), nginx, nginx_dir / "error.log", "nginx")
        yield made
    finally:
        # nginx first (QUIT: finish what is in hand), then the services as systemd stops them.
        for name, process in reversed(made.processes):
            stop(process, signal.SIGQUIT if name == "nginx" else signal.SIGTERM)


@dataclass
class Traffic:
    """Every answer the browsers got, as they got it."""

    responses: list[Response] = field(default_factory=list)

    def record(self, response: Response) -> None:
        self.responses.append(response)

    def posts(self) -> list[tuple[str, int]]:
        return [(r.url, r.status) for r in self.responses if r.request.method == "POST"]

    def refused(self) -> list[tuple[str, str, int]]:
        return [(r.request.method, r.url, r.status) for r in self.responses if r.status >= 400]


def through_proxy(deployment: Deployment, path: str, cookies: list[dict]) -> http.client.HTTPResponse:
    """A GET through nginx by the README's host name, trusting only the test's certificate."""
    context = ssl.create_default_context(cafile=str(deployment.cert))
    raw = socket.create_connection(("127.0.0.1", deployment.https_port), timeout=10)
    connection = http.client.HTTPSConnection(deployment.host, deployment.https_port, context=context)
    connection.sock = context.wrap_socket(raw, server_hostname=deployment.host)
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
    connection.request("GET", path, headers={"Cookie": cookie})
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


def path_of(url: str) -> str:
    return urlsplit(url).path


# --- the test ---------------------------------------------------------------------------------


def test_the_readme_deployment_behind_nginx_works_end_to_end_in_chromium(deployment):
    if not CHROMIUM.exists():
        pytest.fail(f"KIOSK_REQUIRE_BROWSER is set, but {CHROMIUM_MISSING}", pytrace=False)
    base = deployment.base_url
    traffic = Traffic()

    def seen(what: str) -> str:
        return f"{what}; refused on the way: {traffic.refused()}"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                *CHROMIUM_ARGS,
                # The README's host name leads to the test's nginx, and its
                # certificate is trusted as a clinic's CA-signed one would be.
                f"--host-resolver-rules=MAP {deployment.host} 127.0.0.1",
                f"--ignore-certificate-errors-spki-list={deployment.spki}",
            ],
        )
        try:
            desk_context = browser.new_context(viewport=DESK_SCREEN)
            kiosk_context = browser.new_context(has_touch=True, viewport=KIOSK_SCREEN)
            for context in (desk_context, kiosk_context):
                context.set_default_timeout(15_000)
                context.on("response", traffic.record)
            desk = desk_context.new_page()

            # Staff sign in at the desk.
            desk.goto(base + "/desk/")
            expect(desk).to_have_url(re.compile(r"/desk/sign-in"))
            assert desk.evaluate("window.isSecureContext"), "the page is not a secure context"
            desk.get_by_label("Name").fill("admin")
            desk.get_by_label("Password").fill(deployment.admin_password)
            desk.get_by_role("button", name="Sign in").click()
            try:
                expect(desk.get_by_role("heading", name="Handouts and alerts")).to_be_visible()
            except AssertionError as error:
                raise AssertionError(
                    seen(f"the desk did not sign in ({desk.locator('main').inner_text()!r})")
                ) from error
            desk_cookies = desk_context.cookies()
            assert desk_cookies and all(cookie["secure"] for cookie in desk_cookies), desk_cookies

            # They register a kiosk; its one-time link names the proxy's address.
            desk.goto(base + "/desk/kiosks")
            desk.get_by_label("Name (shown on alerts and handouts)").fill("Waiting room 2")
            desk.get_by_role("button", name="Register and make a link").click()
            link = desk.locator("code.link").inner_text().strip()
            assert link.startswith(base + "/"), f"the enrollment link {link!r} is not on {base}"

            # The touchscreen opens the link and is set up.
            screen = kiosk_context.new_page()
            patient = Patient(screen, base)
            screen.goto(link)
            screen.get_by_role("button", name="Set up this kiosk").tap()
            try:
                expect(screen.locator("#screen h1")).to_have_text(WELCOME_HEADING)
            except AssertionError as error:
                raise AssertionError(seen("the kiosk was not set up")) from error
            kiosk_cookies = kiosk_context.cookies()
            assert kiosk_cookies and all(cookie["secure"] for cookie in kiosk_cookies), kiosk_cookies

            # A patient does a whole visit on it.
            patient.walks_up()
            patient.taps_start()
            patient.answers_everything_up_to_review()
            code = patient.taps_finish()
            patient.expect_no_blocked_or_broken_scripts()

            # The desk sees the handout from the enrolled kiosk and prints it.
            desk.goto(base + "/desk/")
            row = desk.locator("table.handouts tbody tr", has_text=code)
            expect(row).to_contain_text("Waiting room 2")
            expect(row).to_contain_text("Not printed", timeout=30_000)
            row.get_by_role("link", name=code).click()
            expect(desk.get_by_role("heading", name=f"Handout {code}")).to_be_visible()
            desk.get_by_label("Printer").select_option("directory")
            desk.get_by_role("button", name="Print").click()
            expect(desk.locator("#jobs .job").first).to_contain_text("Printed", timeout=30_000)
            # The PDF as the desk previews it (Chromium's viewer hides its headers from the test).
            pdf_path = path_of(desk.locator("iframe").get_attribute("src"))
            pdf = through_proxy(deployment, pdf_path, desk_context.cookies())
            assert (pdf.status, pdf.getheader("Content-Type")) == (200, "application/pdf")
            assert pdf.getheader("Strict-Transport-Security") == HSTS
            assert pdf.body.startswith(b"%PDF-")
            printed = list((deployment.instance / "printed").glob("*.pdf"))
            assert len(printed) == 1 and printed[0].read_bytes().startswith(b"%PDF-")

            # They sign out, and the desk is closed to that browser.
            desk.get_by_role("button", name="Sign out").click()
            expect(desk).to_have_url(re.compile(r"/desk/sign-in"))
            desk.goto(base + "/desk/")
            expect(desk).to_have_url(re.compile(r"/desk/sign-in"))

            # What came back through the proxy: every POST succeeded, nothing was refused.
            posted = {path_of(url) for url, _ in traffic.posts()}
            assert {"/desk/sign-in", "/desk/kiosks", "/start", "/visit/finish", "/desk/sign-out"} <= posted, (
                posted
            )
            assert [(url, status) for url, status in traffic.posts() if status >= 400] == []
            assert traffic.refused() == []
            # Every cookie the app set was Secure; every answer carried HSTS.
            answers = [r for r in traffic.responses if r.url.startswith(base) and r.url != base + pdf_path]
            set_cookies = [
                value
                for r in answers
                for header in r.headers_array()
                if header["name"].lower() == "set-cookie"
                for value in header["value"].split("\n")
            ]
            assert set_cookies and [c for c in set_cookies if "; Secure" not in c] == []
            assert [r.url for r in answers if r.headers.get("strict-transport-security") != HSTS] == []
        finally:
            browser.close()

    # The requests went through nginx, and plain HTTP is sent to HTTPS.
    logged = deployment.nginx_access_log.read_text()
    assert re.search(r'"POST /visit/finish HTTP/[\d.]+" [23]\d\d ', logged), logged[-2000:]
    connection = http.client.HTTPConnection("127.0.0.1", deployment.http_port, timeout=5)
    connection.request("GET", "/desk/", headers={"Host": deployment.host})
    answer = connection.getresponse()
    assert (answer.status, answer.getheader("Location")) == (301, f"https://{deployment.host}/desk/")
    connection.close()
