"""Security of issue 4 not covered by the access matrix: uploads, the read audit, login with its
second factor and lockout, response headers, production settings and public limits."""

from __future__ import annotations

import datetime as dt
import io
import os
import secrets
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from petitiondesk.accounts.models import User
from petitiondesk.accounts.services import otp_enrol, user_add
from petitiondesk.cases import services
from petitiondesk.cases.models import Attachment, Case, CaseEvent, ReadAudit
from petitiondesk.intake.services import PetitionerData, Submission, petition_submit
from tests.conftest import letter

pytestmark = pytest.mark.django_db
TZ8 = dt.timezone(dt.timedelta(hours=8))

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
PDF = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def docx(*, macros: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
        if macros:
            zf.writestr("word/vbaProject.bin", b"\x00" * 10)
    return buf.getvalue()


def register(actor: User, **overrides: Any) -> Case:
    body = letter(**overrides)
    body["petitioners"] = [PetitionerData(**p) for p in body["petitioners"]]
    body["received_on"] = None
    receipt = petition_submit(submission=Submission(**body), actor=actor)
    return receipt.case


@pytest.fixture
def upload_dir(settings: Any, tmp_path: Path) -> Path:
    settings.PETITIONDESK_UPLOAD_DIR = tmp_path / "uploads"
    return settings.PETITIONDESK_UPLOAD_DIR


@pytest.fixture
def held(clerk_alice: User, handler_bob: User) -> Case:
    """A claim registered at K-XF and routed to K-EDU (held there)."""
    case = register(clerk_alice)
    return services.case_route(case_id=case.pk, actor=clerk_alice, to_org="K-EDU")


def post_file(client: Client, path: str, name: str, data: bytes, **headers: str) -> Any:
    f = io.BytesIO(data)
    f.name = name
    return client.post(f"/api/v1{path}", {"file": f}, headers=headers)


def staff_client(user: User) -> Client:
    from petitiondesk.accounts.services import token_create

    client = Client(
        HTTP_ACCEPT_LANGUAGE="en"
    )  # messages checked in English; zh-hans is the default
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token_create(user=user)}"
    return client


def files_in(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()] if directory.exists() else []


# --- uploads ------------------------------------------------------------------------------------


def test_a_png_is_stored_outside_the_static_root_and_served_only_as_a_download(
    held, handler_bob, upload_dir
):
    bob = staff_client(handler_bob)
    r = post_file(bob, f"/petitions/{held.pk}/attachments", "现场照片.png", PNG)

    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["filename"], body["content_type"], body["size"]) == (
        "现场照片.png",
        "image/png",
        len(PNG),
    )
    [stored] = files_in(upload_dir)
    assert stored.read_bytes() == PNG
    assert Path(settings.STATIC_ROOT) not in stored.parents
    assert stored.name != "现场照片.png"  # never the user's name on disk
    assert CaseEvent.objects.filter(case=held, verb="attach").count() == 1
    listed = bob.get(f"/api/v1/petitions/{held.pk}").json()["attachments"]
    assert [(a["id"], a["filename"]) for a in listed] == [(body["id"], "现场照片.png")]

    download = bob.get(f"/api/v1/petitions/{held.pk}/attachments/{body['id']}")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PNG
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("name", "data", "what"),
    [
        ("申诉材料.pdf", EXE, "Windows program"),
        ("page.pdf", HTML, "web page"),
        ("letter.docx", docx(macros=True), "macros"),
        ("notes.txt", b"just some text", "another type"),
    ],
    ids=["renamed-executable", "html", "macro-docx", "plain-text"],
)
def test_files_whose_content_is_not_an_allowed_type_are_refused_whatever_their_name(
    held, handler_bob, upload_dir, name, data, what
):
    r = post_file(staff_client(handler_bob), f"/petitions/{held.pk}/attachments", name, data)

    assert r.status_code == 400, r.content
    error = r.json()["error"]
    assert error["code"] == "file_type_not_allowed"
    assert what in error["message"] and "PDF, JPEG, PNG, DOCX" in error["message"]
    assert not Attachment.objects.exists()
    assert files_in(upload_dir) == []


def test_refusals_speak_chinese_by_default(held, handler_bob, upload_dir):
    client = staff_client(handler_bob)
    del client.defaults["HTTP_ACCEPT_LANGUAGE"]
    r = post_file(client, f"/petitions/{held.pk}/attachments", "a.pdf", EXE)

    assert r.status_code == 400
    message = r.json()["error"]["message"]
    assert r.json()["error"]["code"] == "file_type_not_allowed"  # codes never change
    assert "only" not in message and any("\u4e00" <= ch <= "\u9fff" for ch in message)


def test_a_word_document_is_accepted_as_docx(held, handler_bob, upload_dir):
    r = post_file(
        staff_client(handler_bob), f"/petitions/{held.pk}/attachments", "答复.docx", docx()
    )

    assert r.status_code == 201, r.content
    assert r.json()["content_type"].endswith("wordprocessingml.document")


def test_a_path_traversal_name_is_reduced_to_a_plain_name(held, handler_bob, upload_dir):
    r = post_file(
        staff_client(handler_bob),
        f"/petitions/{held.pk}/attachments",
        "../../../etc/cron.d/evil\x00.png",
        PNG,
    )

    assert r.status_code == 201, r.content
    name = r.json()["filename"]
    assert "/" not in name and "\\" not in name and "\x00" not in name and ".." not in name
    assert name.endswith(".png")
    [stored] = files_in(upload_dir)
    assert upload_dir.resolve() in stored.resolve().parents


def test_a_name_claiming_another_type_gets_the_extension_of_the_content(
    held, handler_bob, upload_dir
):
    r = post_file(staff_client(handler_bob), f"/petitions/{held.pk}/attachments", "scan.exe", PDF)

    assert r.status_code == 201, r.content
    assert r.json()["filename"] == "scan.pdf"


def test_an_oversized_file_is_refused_with_413_and_nothing_is_kept(
    held, handler_bob, upload_dir, settings
):
    settings.PETITIONDESK_UPLOAD_MAX_BYTES = 1000
    big = PNG + b"\x00" * 2000

    r = post_file(staff_client(handler_bob), f"/petitions/{held.pk}/attachments", "big.png", big)

    assert r.status_code == 413, r.content
    assert r.json()["error"]["code"] == "file_too_large"
    assert "MiB" in r.json()["error"]["message"]
    assert not Attachment.objects.exists() and files_in(upload_dir) == []


def test_a_body_far_over_the_upload_limit_is_refused_before_it_is_read(
    held, handler_bob, upload_dir, settings
):
    settings.PETITIONDESK_UPLOAD_MAX_BYTES = 1000
    huge = PNG + b"\x00" * 200_000

    r = post_file(staff_client(handler_bob), f"/petitions/{held.pk}/attachments", "huge.png", huge)

    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"


def test_the_number_of_files_per_case_is_capped(held, handler_bob, upload_dir, settings):
    settings.PETITIONDESK_UPLOAD_MAX_FILES = 2
    bob = staff_client(handler_bob)
    codes = [
        post_file(bob, f"/petitions/{held.pk}/attachments", f"{i}.png", PNG).status_code
        for i in range(3)
    ]

    assert codes == [201, 201, 422]
    assert Attachment.objects.filter(case=held).count() == 2
    assert len(files_in(upload_dir)) == 2


def test_the_petitioner_attaches_with_the_access_key_and_only_while_the_case_is_open(
    clerk_alice, upload_dir
):
    public = Client()
    r = public.post(
        "/api/v1/petitions",
        {**letter(), "channel": "web", "received_on": None},
        content_type="application/json",
    )
    receipt = r.json()
    number, key = receipt["tracking_number"], receipt["access_key"]

    ok = post_file(
        public,
        f"/track/{number}/attachments",
        "证据.jpg",
        b"\xff\xd8\xff\xe0" + PNG,
        **{"X-Access-Key": key},
    )
    wrong = post_file(
        public, f"/track/{number}/attachments", "x.png", PNG, **{"X-Access-Key": "WRONG"}
    )

    assert ok.status_code == 201, ok.content
    assert ok.json()["by_petitioner"] is True
    assert wrong.status_code == 404
    case = Case.objects.get(tracking_number=number)
    Case.objects.filter(pk=case.pk).update(status=Case.Status.FINAL)
    late = post_file(public, f"/track/{number}/attachments", "y.png", PNG, **{"X-Access-Key": key})
    assert late.status_code == 409
    assert Attachment.objects.filter(case=case).count() == 1


def test_users_who_cannot_see_the_case_cannot_fetch_its_attachments(
    held, handler_bob, upload_dir, org_tree
):
    r = post_file(staff_client(handler_bob), f"/petitions/{held.pk}/attachments", "a.png", PNG)
    att = r.json()["id"]
    outsider = user_add(username="olga", org_code="K-HOUSING", role="handler")
    admin = user_add(username="root", org_code="P", role="admin")

    for user in (outsider, admin):
        got = staff_client(user).get(f"/api/v1/petitions/{held.pk}/attachments/{att}")
        assert got.status_code == 404, user.username


# --- the read audit ------------------------------------------------------------------------------


def test_reads_of_a_confidential_case_are_recorded_and_shown_to_supervisors_and_admins(
    clerk_alice, handler_bob, supervisor_carol
):
    case = register(clerk_alice, confidential=True)
    services.case_route(case_id=case.pk, actor=clerk_alice, to_org="K-EDU")
    plain = register(clerk_alice)
    services.case_route(case_id=plain.pk, actor=clerk_alice, to_org="K-EDU")
    bob = staff_client(handler_bob)

    assert bob.get(f"/api/v1/petitions/{case.pk}").status_code == 200
    assert bob.get(f"/api/v1/petitions/{plain.pk}").status_code == 200
    assert bob.get("/api/v1/petitions").status_code == 200  # a list shows no contents

    [audit] = ReadAudit.objects.all()
    assert (audit.case_id, audit.user, audit.org.code, audit.view) == (
        case.pk,
        handler_bob,
        "K-EDU",
        "api.read",
    )

    carol = staff_client(supervisor_carol)
    listed = carol.get("/api/v1/audit/reads").json()
    assert listed["count"] == 1
    assert listed["results"][0]["username"] == "bob"
    assert listed["results"][0]["tracking_number"] == case.tracking_number

    export = carol.get("/api/v1/audit/reads.csv")
    assert export.status_code == 200
    assert export["Content-Type"].startswith("text/csv")
    text = b"".join(export.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0] == "at,username,org,case_id,tracking_number,view"
    assert lines[1].split(",")[1:] == [
        "bob",
        "K-EDU",
        str(case.pk),
        case.tracking_number,
        "api.read",
    ]

    admin = staff_client(user_add(username="root", org_code="P", role="admin"))
    assert admin.get("/api/v1/audit/reads").json()["count"] == 1
    assert bob.get("/api/v1/audit/reads").status_code == 403
    assert Client().get("/api/v1/audit/reads").status_code == 401


def test_a_supervisor_sees_no_audit_of_cases_outside_the_jurisdiction(
    clerk_alice, handler_bob, org_tree
):
    case = register(clerk_alice, confidential=True)
    staff_client(clerk_alice).get(f"/api/v1/petitions/{case.pk}")
    assert ReadAudit.objects.count() == 1
    # A supervisor of the education bureau only: the case is held by the county bureau above it.
    elsewhere = staff_client(user_add(username="sam", org_code="K-EDU", role="supervisor"))

    assert elsewhere.get("/api/v1/audit/reads").json()["count"] == 0


# --- login, second factor, lockout, sessions --------------------------------------------------


def login(client: Client, username: str, password: str, code: str = "") -> Any:
    return client.post(
        "/accounts/login/", {"username": username, "password": password, "otp_token": code}
    )


PASSWORD = "a-long-enough-passphrase-2026"


@pytest.fixture
def staff(org_tree: None) -> dict[str, User]:
    return {
        "clerk": user_add(username="cleo", org_code="K-XF", role="clerk", password=PASSWORD),
        "supervisor": user_add(username="suvi", org_code="C", role="supervisor", password=PASSWORD),
    }


def test_a_clerk_logs_in_with_a_password_and_the_session_reaches_the_api(staff):
    client = Client()
    r = login(client, "cleo", PASSWORD)

    assert r.status_code == 302
    assert client.get("/api/v1/petitions").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/api/v1/petitions").status_code == 401


def test_a_supervisor_needs_a_second_factor(staff):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    refused = login(client, "suvi", PASSWORD)
    assert refused.status_code == 400
    assert "second factor" in refused.content.decode()

    url = otp_enrol(username="suvi")
    assert url.startswith("otpauth://totp/")
    device = TOTPDevice.objects.get(user=staff["supervisor"])
    wrong = login(client, "suvi", PASSWORD, "000000" if totp(device.bin_key) else "111111")
    assert wrong.status_code == 400
    assert client.get("/api/v1/petitions").status_code == 401

    device.refresh_from_db()
    device.throttling_failure_count = 0  # the wrong code above started django-otp's back-off
    device.throttling_failure_timestamp = None
    device.save()
    r = login(client, "suvi", PASSWORD, f"{totp(device.bin_key):06d}")
    assert r.status_code == 302, r.content
    assert client.get("/api/v1/petitions").status_code == 200


def test_a_session_without_the_second_factor_is_not_enough_for_a_supervisor(staff):
    client = Client()
    client.force_login(staff["supervisor"])  # password only, no device verified

    assert client.get("/api/v1/petitions").status_code == 401
    assert client.get("/admin/").status_code == 302


def test_the_admin_site_needs_the_admin_role_and_a_verified_second_factor(staff):
    from tests.conftest import login_verified

    root = user_add(username="root", org_code="P", role="admin", password=PASSWORD)
    client = Client()
    client.force_login(root)
    assert client.get("/admin/").status_code == 302
    login_verified(client, root)
    assert client.get("/admin/").status_code == 200
    other = Client()
    login_verified(other, staff["supervisor"])
    assert other.get("/admin/").status_code == 302


def test_repeated_failed_logins_lock_the_account_for_that_address(staff, settings):
    client = Client()
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 5
    for _ in range(limit - 1):
        assert login(client, "cleo", "wrong-password").status_code == 400
    assert login(client, "cleo", "wrong-password").status_code == 429  # the limit-th locks

    locked = login(client, "cleo", PASSWORD)

    assert locked.status_code == 429
    assert "locked" in locked.content.decode().lower() or "锁定" in locked.content.decode()
    assert client.get("/api/v1/petitions").status_code == 401


def test_sessions_expire_after_eight_idle_hours_by_default(staff):
    import time_machine
    from django.contrib.sessions.models import Session

    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    client = Client()
    assert login(client, "cleo", PASSWORD).status_code == 302
    key = client.cookies["sessionid"].value

    def expiry() -> dt.datetime:
        return Session.objects.get(session_key=key).expire_date

    first = expiry()
    with time_machine.travel(dt.datetime(2026, 11, 27, 10, 3, tzinfo=TZ8), tick=False):
        assert client.get("/api/v1/petitions").status_code == 200
        assert expiry() == first  # used again within 5 minutes: no write
    with time_machine.travel(dt.datetime(2026, 11, 27, 17, 0, tzinfo=TZ8), tick=False):
        assert client.get("/api/v1/petitions").status_code == 200
        assert expiry() - first == dt.timedelta(hours=7)  # the 8 idle hours start again
    with time_machine.travel(dt.datetime(2026, 11, 28, 1, 1, tzinfo=TZ8), tick=False):
        assert client.get("/api/v1/petitions").status_code == 401  # 8 h 1 min idle: gone


def test_a_login_redirects_only_within_the_site(staff):
    r = Client().post(
        "/accounts/login/?next=https://evil.example/",
        {"username": "cleo", "password": PASSWORD, "otp_token": ""},
    )
    assert r.status_code == 302
    assert r["Location"] == settings.LOGIN_REDIRECT_URL


# --- headers and production settings ------------------------------------------------------------


def test_pages_carry_a_strict_content_security_policy_and_framing_refusal():
    r = Client().get("/accounts/login/")

    assert r.status_code == 200
    csp = r["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r["X-Frame-Options"] == "DENY"
    assert r["Referrer-Policy"] == "same-origin"
    assert r["X-Content-Type-Options"] == "nosniff"
    assert b"<script>" not in r.content  # no inline script


def test_manage_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PETITIONDESK_", "DJANGO_ALLOW_ASYNC_UNSAFE"))
        },
        "PETITIONDESK_DATA_DIR": str(tmp_path),
        "PETITIONDESK_HTTPS": "true",
        "PETITIONDESK_SECRET_KEY": secrets.token_urlsafe(50),
        "PETITIONDESK_ALLOWED_HOSTS": "xf.example.gov.cn",
    }
    run = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no issues" in run.stdout


def test_without_https_the_deploy_check_names_what_is_missing(tmp_path):
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PETITIONDESK_", "DJANGO_ALLOW_ASYNC_UNSAFE"))
        },
        "PETITIONDESK_DATA_DIR": str(tmp_path),
    }
    run = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        timeout=120,
    )
    assert run.returncode != 0
    assert "SECURE_HSTS_SECONDS" in run.stderr + run.stdout


# --- public limits ---------------------------------------------------------------------------------


def test_public_submissions_are_limited_per_address_but_staff_are_not(settings, clerk_alice):
    settings.PETITIONDESK_PUBLIC_SUBMIT_MAX = 3
    public = Client()
    body = {**letter(), "channel": "web", "received_on": None}
    codes = [
        public.post("/api/v1/petitions", body, content_type="application/json").status_code
        for _ in range(4)
    ]

    assert codes == [201, 201, 201, 429]
    refused = public.post("/api/v1/petitions", body, content_type="application/json")
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused["Retry-After"]) == settings.PETITIONDESK_PUBLIC_SUBMIT_WINDOW_SECONDS
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert other.post("/api/v1/petitions", body, content_type="application/json").status_code == 201
    staff = staff_client(clerk_alice)
    assert (
        staff.post("/api/v1/petitions", letter(), content_type="application/json").status_code
        == 201
    )
    assert Case.objects.count() == 5


def test_a_page_form_far_over_the_upload_limits_is_refused_before_it_is_read(settings):
    settings.PETITIONDESK_UPLOAD_MAX_FILES = 2
    settings.PETITIONDESK_UPLOAD_MAX_BYTES = 1000
    big = io.BytesIO(b"\x00" * 200_000)
    big.name = "x.png"

    r = Client(HTTP_ACCEPT_LANGUAGE="en").post("/submit/", {"files": big, "title": "t"})

    assert r.status_code == 413
    assert "at most 2 files" in r.content.decode()
    assert not Case.objects.exists()


def test_a_wrong_token_is_401_even_with_csrf_checks_on(held):
    client = Client(enforce_csrf_checks=True)
    r = client.post(
        f"/api/v1/petitions/{held.pk}/actions/route",
        data="{}",
        content_type="application/json",
        headers={"Authorization": "Bearer wrong"},
    )
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize(
    "query", ["case_id=9223372036854775808", "username=%00", "case_id=-1", "since=yesterday"]
)
def test_bad_audit_filters_are_400_not_500(supervisor_carol, query):
    carol = staff_client(supervisor_carol)
    for path in ("/api/v1/audit/reads", "/api/v1/audit/reads.csv"):
        r = carol.get(f"{path}?{query}")
        assert r.status_code == 400, (path, r.status_code)
        assert r.json()["error"]["code"] == "invalid_input"


def test_a_nul_tracking_number_on_upload_is_400_not_500(upload_dir):
    r = post_file(Client(), "/track/%00/attachments", "a.png", PNG, **{"X-Access-Key": "K"})
    assert r.status_code in (400, 404)
