"""Repeat petitioners: phone, ID number and e-mail compared as keyed hashes (HMAC-SHA256).

The petitioner row keeps the value in clear for the staff who handle the case; the keys sit beside it
so that "has this person written before?" is an indexed equality lookup, and nothing else keeps a
second clear copy. The key is PETITIONDESK_IDENTITY_KEY, or derived from SECRET_KEY; after changing
either, `petitiondesk index rebuild` recomputes every petitioner's keys.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from functools import cache
from typing import Any

from django.conf import settings

NON_DIGITS = re.compile(r"\D+")
MIN_PHONE_DIGITS = 7  # shorter numbers are extensions or typos: matching on them would mislead


@cache
def _secret(seed: str) -> bytes:
    return hashlib.sha256(b"petitiondesk-identity\x00" + seed.encode()).digest()


def _key(kind: str, value: str) -> str:
    if not value:
        return ""
    seed = settings.PETITIONDESK_IDENTITY_KEY or settings.SECRET_KEY
    return hmac.new(_secret(seed), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def normal_phone(phone: str) -> str:
    """Digits only, without the +86 / 0086 country prefix of Chinese numbers."""
    digits = NON_DIGITS.sub("", unicodedata.normalize("NFKC", phone or ""))
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) >= 11:
            digits = digits[len(prefix) :]
            break
    return digits if len(digits) >= MIN_PHONE_DIGITS else ""


def normal_id_number(id_number: str) -> str:
    """Upper case, without spaces or dashes (the check letter X is written both ways)."""
    text = unicodedata.normalize("NFKC", id_number or "").upper()
    text = re.sub(r"[\s\-]+", "", text)
    return text if len(text) >= 6 else ""


def normal_email(email: str) -> str:
    text = unicodedata.normalize("NFKC", email or "").strip().lower()
    return text if "@" in text else ""


def identity_keys(*, phone: str = "", id_number: str = "", email: str = "") -> dict[str, str]:
    """The keyed hashes of a petitioner's identifiers, as the Petitioner columns."""
    return {
        "phone_key": _key("phone", normal_phone(phone)),
        "id_key": _key("id", normal_id_number(id_number)),
        "email_key": _key("email", normal_email(email)),
    }


def rekey_petitioners(model: Any = None, *, chunk: int = 2000) -> int:
    """Recompute every stored petitioner's keys (after the key changed; the data migration that
    introduced them passes its historical model). Returns how many petitioners were keyed."""
    if model is None:
        from petitiondesk.cases.models import Petitioner as model
    fields = ["phone_key", "id_key", "email_key"]
    rows = model.objects.exclude(phone="", id_number="", email="").only(
        "id", "phone", "id_number", "email"
    )
    batch: list[Any] = []
    done = 0
    for p in rows.iterator(chunk_size=chunk):
        for name, value in identity_keys(
            phone=p.phone, id_number=p.id_number, email=p.email
        ).items():
            setattr(p, name, value)
        batch.append(p)
        if len(batch) >= chunk:
            model.objects.bulk_update(batch, fields)
            done += len(batch)
            batch = []
    model.objects.bulk_update(batch, fields)
    return done + len(batch)
