"""Organisations, users and tokens: create and update (used by the CLI, the admin and the demo)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from petitiondesk.core.errors import InvalidInput, NotFound
from petitiondesk.core.memo import TTLMemo

from .models import ApiToken, Organisation, User, hash_token
from .selectors import invalidate_org_tree

ORG_FIELDS = ("code", "name", "kind", "level", "parent", "division_code")


@transaction.atomic
def orgs_load(*, records: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
    """Create or update organisations; parents may come later in the list. Returns (created, updated).

    Validates every record before writing anything, so a bad file changes nothing.
    """
    records = list(records)
    kinds = set(Organisation.Kind.values)
    levels = set(Organisation.Level.values)
    codes_in_file: set[str] = set()
    for i, rec in enumerate(records, start=1):
        if not isinstance(rec, Mapping):
            raise InvalidInput("invalid_input", f"record {i}: expected a mapping")
        missing = [f for f in ("code", "name", "kind", "level") if not rec.get(f)]
        if missing:
            raise InvalidInput("invalid_input", f"record {i}: missing {', '.join(missing)}")
        unknown = set(rec) - set(ORG_FIELDS)
        if unknown:
            raise InvalidInput("invalid_input", f"record {i}: unknown field(s) {sorted(unknown)}")
        if rec["kind"] not in kinds:
            raise InvalidInput(
                "invalid_input", f"record {i}: kind {rec['kind']!r} not one of {sorted(kinds)}"
            )
        if rec["level"] not in levels:
            raise InvalidInput(
                "invalid_input", f"record {i}: level {rec['level']!r} not one of {sorted(levels)}"
            )
        code = str(rec["code"])
        if code in codes_in_file:
            raise InvalidInput("invalid_input", f"record {i}: code {code!r} appears twice")
        codes_in_file.add(code)
    existing = set(
        Organisation.objects.filter(
            code__in=[str(r["parent"]) for r in records if r.get("parent")]
        ).values_list("code", flat=True)
    )
    for i, rec in enumerate(records, start=1):
        parent = rec.get("parent")
        if parent and str(parent) not in codes_in_file | existing:
            raise InvalidInput("unknown_org", f"record {i}: parent {parent!r} is not a known org")
        if parent and str(parent) == str(rec["code"]):
            raise InvalidInput("invalid_input", f"record {i}: an org cannot be its own parent")

    created = updated = 0
    for rec in records:
        _, was_created = Organisation.objects.update_or_create(
            code=str(rec["code"]),
            defaults={
                "name": rec["name"],
                "kind": rec["kind"],
                "level": rec["level"],
                "division_code": str(rec.get("division_code") or ""),
            },
        )
        created += was_created
        updated += not was_created
    by_code = {o.code: o for o in Organisation.objects.filter(code__in=codes_in_file | existing)}
    for rec in records:
        org = by_code[str(rec["code"])]
        parent = by_code.get(str(rec["parent"])) if rec.get("parent") else None
        if org.parent_id != (parent.pk if parent else None):
            org.parent = parent
            org.save(update_fields=["parent"])
    _check_no_cycles(by_code.values())
    # Now for this process's later reads in the transaction, and again once others can see it.
    invalidate_org_tree()
    transaction.on_commit(invalidate_org_tree)
    return created, updated


def _check_no_cycles(orgs: Iterable[Organisation]) -> None:
    parent_of = dict(Organisation.objects.values_list("id", "parent_id"))
    for org in orgs:
        seen = {org.pk}
        cur = parent_of.get(org.pk)
        while cur is not None:
            if cur in seen:
                raise InvalidInput("invalid_input", f"org {org.code!r} is its own ancestor")
            seen.add(cur)
            cur = parent_of.get(cur)


def org_by_code(code: str) -> Organisation:
    try:
        return Organisation.objects.get(code=code, is_active=True)
    except Organisation.DoesNotExist:
        raise NotFound("unknown_org", f"no organisation with code {code!r}") from None


@transaction.atomic
def user_add(
    *, username: str, org_code: str, role: str, password: str | None = None, **extra: Any
) -> User:
    if role not in User.Role.values:
        raise InvalidInput(
            "invalid_input", f"role {role!r} not one of {', '.join(User.Role.values)}"
        )
    if User.objects.filter(username=username).exists():
        raise InvalidInput("user_exists", f"user {username!r} already exists")
    org = org_by_code(org_code)
    user = User(username=username, org=org, role=role, **extra)
    if password is not None:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise InvalidInput("weak_password", " ".join(exc.messages)) from exc
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.is_staff = role == User.Role.ADMIN
    user.is_superuser = role == User.Role.ADMIN
    user.save()
    return user


def token_create(*, user: User, name: str = "") -> str:
    """Create an API token and return it in clear: the only time it is ever shown."""
    raw = ApiToken.generate()
    ApiToken.objects.create(user=user, name=name, token_hash=hash_token(raw), prefix=raw[:10])
    return raw


# Revoking a token or deactivating a user takes effect in every process within this many seconds.
_tokens: TTLMemo[ApiToken | None] = TTLMemo(lambda: settings.PETITIONDESK_TOKEN_CACHE_SECONDS)


def _load_token(token_hash: str) -> ApiToken | None:
    return (
        ApiToken.objects.select_related("user", "user__org")
        .filter(token_hash=token_hash, revoked_at__isnull=True, user__is_active=True)
        .first()
    )


def token_authenticate(raw: str) -> User | None:
    token_hash = hash_token(raw)
    token = _tokens.get(token_hash, lambda: _load_token(token_hash))
    if token is None:
        return None
    now = timezone.now()
    # Touch last-used at most once a minute: no write on every hot-path request.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        token.last_used_at = now
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def token_revoke(*, token_id: int) -> None:
    ApiToken.objects.filter(pk=token_id, revoked_at__isnull=True).update(revoked_at=timezone.now())
    _tokens.clear()


# --- second factor (TOTP, django-otp) ----------------------------------------------------------


def otp_required(user: User) -> bool:
    """Whether the user's role must pass a second factor to use a browser session (security.md)."""
    roles = settings.PETITIONDESK_OTP_ROLES
    return "all" in roles or user.role in roles


def otp_device(user: User) -> Any:
    """The user's confirmed TOTP device, or None."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


@transaction.atomic
def otp_enrol(*, username: str, replace: bool = False) -> str:
    """Give the user a TOTP device and return its otpauth:// URL (shown once, for the
    authenticator app). An existing device is kept unless `replace`."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = User.objects.filter(username=username).first()
    if user is None:
        raise NotFound("unknown_user", f"no user {username!r}")
    existing = TOTPDevice.objects.filter(user=user)
    if existing.exists():
        if not replace:
            raise InvalidInput(
                "device_exists", f"{username} already has a second factor; use --replace"
            )
        existing.delete()
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    return str(device.config_url)
