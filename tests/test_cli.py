"""The `petitiondesk` command line (api.md "Command line")."""

import io
import json
from pathlib import Path

import pytest

from petitiondesk.accounts.models import ApiToken, Organisation, User
from petitiondesk.accounts.services import token_authenticate
from petitiondesk.cases.models import CaseEvent, Deadline
from petitiondesk.cli import main
from tests.conftest import ORGS, letter

pytestmark = pytest.mark.django_db


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_orgs_load_creates_then_updates_from_yaml(tmp_path: Path, capsys):
    path = tmp_path / "orgs.yaml"
    path.write_text(
        "- {code: X, name: 某县人民政府, kind: organ, level: county, division_code: '990199'}\n"
        "- {code: X-XF, name: 某县信访局, kind: petition_department, level: county, parent: X}\n",
        encoding="utf-8",
    )
    assert (
        run(capsys, "orgs", "load", str(path))[1].strip() == "2 organisation(s) created, 0 updated"
    )
    assert Organisation.objects.get(code="X-XF").parent.code == "X"
    assert (
        run(capsys, "orgs", "load", str(path))[1].strip() == "0 organisation(s) created, 2 updated"
    )


def test_orgs_load_with_an_unknown_parent_changes_nothing(tmp_path: Path, capsys):
    path = tmp_path / "orgs.json"
    path.write_text(
        json.dumps(
            [
                {"code": "A", "name": "甲", "kind": "organ", "level": "county"},
                {"code": "B", "name": "乙", "kind": "organ", "level": "county", "parent": "NOPE"},
            ]
        )
    )
    code, _, err = run(capsys, "orgs", "load", str(path))
    assert code == 2
    assert "NOPE" in err and len(err.strip().splitlines()) == 1
    assert not Organisation.objects.exists()


def test_orgs_load_refuses_an_unknown_kind(tmp_path: Path, capsys):
    path = tmp_path / "orgs.yaml"
    path.write_text("- {code: A, name: 甲, kind: ministry, level: county}\n")
    code, _, err = run(capsys, "orgs", "load", str(path))
    assert code == 2 and "kind" in err


def test_users_add_and_tokens_create(org_tree, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("correct-horse-battery-staple\n"))
    code, out, _ = run(
        capsys, "users", "add", "zhang", "--org", "K-XF", "--role", "clerk", "--password-stdin"
    )
    assert code == 0 and "zhang" in out
    user = User.objects.get(username="zhang")
    assert user.check_password("correct-horse-battery-staple")
    assert user.role == "clerk" and user.org.code == "K-XF"
    code, out, _ = run(capsys, "tokens", "create", "zhang")
    token = out.strip()
    assert code == 0 and token.startswith("pd_")
    assert token_authenticate(token) == user
    assert token not in ApiToken.objects.values_list("token_hash", flat=True)  # stored hashed


def test_users_add_refuses_an_unknown_role_and_org(org_tree, capsys):
    with pytest.raises(SystemExit):
        main(["users", "add", "x", "--org", "K-XF", "--role", "emperor"])
    code, _, err = run(capsys, "users", "add", "x", "--org", "NOPE", "--role", "clerk")
    assert code == 2 and "NOPE" in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["routing", "2026-09-28"], "2026-10-13"),
        (["routing", "2026-09-16"], "2026-10-08"),
        (["objection", "2026-09-29"], "2026-10-12"),
        (["handling", "2026-03-02"], "2026-05-06"),
        (["handling", "2026-03-10", "--extension", "30"], "2026-06-08"),
        (["review_request", "2026-06-01"], "2026-07-01"),
        (["rereview_decision", "2026-10-12", "--hearing", "2026-10-26:2026-10-30"], "2026-11-16"),
    ],
)
def test_deadline_command_prints_the_worked_examples(argv, expected, capsys):
    code, out, _ = run(capsys, "deadline", *argv)
    assert (code, out.strip()) == (0, expected)


def test_deadline_json_tells_method_calendar_and_provisional(capsys):
    code, out, _ = run(capsys, "deadline", "handling", "2026-12-01", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["method"] == "calendar_rollforward"
    assert data["provisional"] is True
    assert "2027:provisional" in data["calendar_version"]


def test_deadline_refuses_bad_input_with_one_line(capsys):
    code, _, err = run(capsys, "deadline", "nonsense", "2026-01-01")
    assert code == 2 and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "deadline", "routing", "2026-01-01", "--extension", "5")
    assert code == 2 and "handling" in err
    with pytest.raises(SystemExit):
        main(["deadline", "routing", "2026-02-30"])


def test_calendar_load_recomputes_open_provisional_deadlines_and_logs_each(
    api_as, clerk_alice, handler_bob, tmp_path: Path, capsys
):
    clerk, bob = api_as(clerk_alice), api_as(handler_bob)
    case_id = clerk.post("/petitions", letter(received_on="2026-11-20")).json()["id"]
    assert clerk.act(case_id, "route", to_org="K-EDU").status_code == 200
    r = bob.act(case_id, "accept", claim_route=6)  # 2026-11-27 + 60 = 2027-01-26
    handling = Deadline.objects.get(case_id=case_id, rule="handling")
    assert (handling.due_on.isoformat(), handling.provisional) == ("2027-01-26", True)
    assert r.status_code == 200

    path = tmp_path / "2027.yaml"
    path.write_text("year: 2027\nholidays: [2027-01-01, 2027-01-26]\nworkdays: [2027-01-30]\n")
    code, out, _ = run(capsys, "calendar", "load", str(path))
    assert code == 0 and "1 open deadline(s) recomputed" in out

    handling.refresh_from_db()
    assert (handling.due_on.isoformat(), handling.provisional) == ("2027-01-27", False)
    assert handling.calendar_version.endswith("2027:loaded-2027-" + handling.calendar_version[-8:])
    [event] = CaseEvent.objects.filter(case_id=case_id, verb="deadline_recomputed")
    assert event.payload["due_on_before"] == "2027-01-26"
    assert event.payload["due_on"] == "2027-01-27"


def test_calendar_load_refuses_a_date_outside_the_year(tmp_path: Path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("year: 2027\nholidays: [2028-01-01]\n")
    code, _, err = run(capsys, "calendar", "load", str(path))
    assert code == 2 and "2028-01-01" in err


def test_orgs_fixture_tree_matches_the_personas():
    assert {o["code"] for o in ORGS} >= {"K-XF", "K-EDU", "K", "C"}


def test_loading_orgs_refreshes_the_tree_this_process_reads(org_tree, tmp_path: Path, capsys):
    from petitiondesk.accounts.selectors import org_subtree_ids

    county = Organisation.objects.get(code="K").pk
    before = org_subtree_ids(county)  # read, and remembered
    path = tmp_path / "more.yaml"
    path.write_text("- {code: K-NEW, name: 示范县新设局, kind: organ, level: county, parent: K}\n")
    assert run(capsys, "orgs", "load", str(path))[0] == 0
    assert org_subtree_ids(county) - before == {Organisation.objects.get(code="K-NEW").pk}


def test_tokens_list_shows_no_secret_and_revoke_stops_the_token(clerk_alice, capsys):
    assert main(["tokens", "create", "alice", "--name", "hotline"]) == 0
    raw = capsys.readouterr().out.strip()
    assert token_authenticate(raw) == clerk_alice

    assert main(["tokens", "list"]) == 0
    listing = capsys.readouterr().out
    token = ApiToken.objects.get()
    assert token.prefix in listing and "hotline" in listing and raw not in listing

    assert main(["tokens", "revoke", token.prefix]) == 0
    assert "revoked" in capsys.readouterr().out
    assert token_authenticate(raw) is None
    assert main(["tokens", "revoke", token.prefix]) == 2
    assert "already revoked" in capsys.readouterr().err
    assert main(["tokens", "revoke", "pd_nothing"]) == 2


def test_users_otp_prints_an_authenticator_url_once_and_refuses_a_second_device(
    supervisor_carol, capsys
):
    assert main(["users", "otp", "carol"]) == 0
    out = capsys.readouterr().out
    assert "otpauth://totp/" in out and "secret=" in out

    assert main(["users", "otp", "carol"]) == 2
    err = capsys.readouterr().err
    assert "--replace" in err and len(err.strip().splitlines()) == 1
    assert main(["users", "otp", "carol", "--replace"]) == 0
    assert main(["users", "otp", "nobody"]) == 2


TAXONOMY = Path(__file__).resolve().parents[2] / "shared" / "data" / "tipdm2020c" / "taxonomy.xlsx"


@pytest.mark.django_db
def test_topics_load_takes_the_three_level_taxonomy_and_keeps_known_codes(capsys):
    from petitiondesk.reference.models import Topic

    if not TAXONOMY.exists():
        pytest.skip(f"the shared data set is not at {TAXONOMY}")
    assert main(["topics", "load", str(TAXONOMY)]) == 0
    assert "created" in capsys.readouterr().out
    # 15 first-level classes keep the default codes; every one of the 517 rows is a third-level
    # topic under its own path (390 distinct names: the same name under different parents).
    assert Topic.objects.filter(level=1).count() == 15
    assert Topic.objects.filter(level=3).count() == 517
    leaf = Topic.objects.get(code="urban_construction/安全生产/事故处理")
    assert (leaf.parent.code, leaf.parent.parent.code) == (
        "urban_construction/安全生产",
        "urban_construction",
    )


@pytest.mark.django_db
def test_divisions_load_and_its_refusals(tmp_path: Path, capsys):
    from petitiondesk.reference.selectors import division_path

    good = tmp_path / "divisions.yaml"
    good.write_text(
        "divisions:\n"
        "  - {code: '990000', name: 示范省, level: province}\n"
        "  - {code: '990100', name: 示范市, level: city, parent: '990000'}\n",
        encoding="utf-8",
    )
    assert main(["divisions", "load", str(good)]) == 0
    assert "2 division(s) created" in capsys.readouterr().out
    assert [n for _c, n in division_path("990100")] == ["示范省", "示范市"]

    bad = tmp_path / "bad.yaml"
    bad.write_text("divisions:\n  - {code: 'x1', name: 错, level: city}\n", encoding="utf-8")
    assert main(["divisions", "load", str(bad)]) == 2
    assert "digits" in capsys.readouterr().err
    assert main(["divisions", "load", str(tmp_path / "missing.csv")]) == 2
