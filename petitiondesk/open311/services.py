"""Posting a service request (Open311 GeoReport v2 POST requests): a petition registered through
`petition_submit`, channel `api`, by the integration user whose API token came as `api_key`."""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from petitiondesk.accounts.models import User
from petitiondesk.accounts.services import token_authenticate
from petitiondesk.cases.models import TITLE_MAX, Case, ExternalRef
from petitiondesk.core.db import write_transaction
from petitiondesk.core.errors import InvalidInput, NotFound, PermissionDenied
from petitiondesk.core.text import clean_text
from petitiondesk.intake.services import PetitionerData, Submission, petition_submit

from .models import ServiceAttribute
from .selectors import (
    TOKEN_SOURCE,
    check_jurisdiction,
    parse_w3c,
    service_attributes,
    service_topic,
)

SOURCE = "open311"
DESCRIPTION_MAX = 4000  # the spec's limit for `description`
TITLE_START = 40  # characters of the description after the service name in a title


@dataclass
class PostedRequest:
    """The spec's POST parameters (form fields), as strings the client sent."""

    api_key: str = ""
    jurisdiction_id: str = ""
    service_code: str = ""
    lat: str = ""
    long: str = ""
    address_string: str = ""
    address_id: str = ""
    email: str = ""
    device_id: str = ""
    account_id: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    description: str = ""
    media_url: str = ""
    attributes: dict[str, list[str]] = field(default_factory=dict)  # attribute[CODE] → values


@dataclass
class PostReceipt:
    service_request_id: str
    token: str


def open311_authenticate(api_key: str) -> User:
    """The integration user behind `api_key` (an API token), or 403."""
    user = token_authenticate(api_key) if api_key else None
    if user is None:
        raise PermissionDenied("forbidden", _("a valid api_key is required"))
    return user


def _coordinate(value: str, name: str, bound: float) -> float | None:
    if not value.strip():
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or abs(number) > bound:
        raise InvalidInput(
            "invalid_input",
            _("%(f)s must be a number within ±%(b)d") % {"f": name, "b": bound},
            fields={name: "number"},
        )
    return number


def _number(value: str) -> str:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return value


def _datetime(value: str) -> str:
    return parse_w3c(value, "attribute").isoformat()


CHECKS: dict[str, Callable[[str], str]] = {
    ServiceAttribute.Datatype.NUMBER: _number,
    ServiceAttribute.Datatype.DATETIME: _datetime,
}


def check_attributes(
    definitions: list[ServiceAttribute], posted: dict[str, list[str]]
) -> list[tuple[ServiceAttribute, list[str]]]:
    """The answers to the service's questions, checked: required ones given, numbers numbers,
    date-times W3C, list values among the allowed keys; an unknown attribute code is refused."""
    by_code = {a.code: a for a in definitions if a.variable}
    unknown = sorted(set(posted) - set(by_code))
    if unknown:
        raise InvalidInput(
            "invalid_input",
            _("unknown attribute(s): %s") % ", ".join(unknown),
            fields={f"attribute[{c}]": "unknown" for c in unknown},
        )
    answers = []
    for code, attr in by_code.items():
        name = f"attribute[{code}]"
        values = [v.strip() for v in posted.get(code, []) if v.strip()]
        if not values:
            if attr.required:
                raise InvalidInput(
                    "missing_field", _("%s is required") % name, fields={name: "required"}
                )
            continue
        if attr.datatype != ServiceAttribute.Datatype.MULTIVALUELIST and len(values) > 1:
            raise InvalidInput(
                "invalid_input", _("%s takes one value") % name, fields={name: "one"}
            )
        if attr.datatype in ServiceAttribute.LIST_TYPES:
            allowed = attr.value_names()
            wrong = [v for v in values if v not in allowed]
            if wrong:
                raise InvalidInput(
                    "invalid_input",
                    _("%(f)s must be one of %(keys)s") % {"f": name, "keys": ", ".join(allowed)},
                    fields={name: "not an allowed value"},
                )
        elif attr.datatype in CHECKS:
            try:
                values = [CHECKS[attr.datatype](v) for v in values]
            except (ValueError, InvalidInput):
                raise InvalidInput(
                    "invalid_input",
                    _("%(f)s must be a %(type)s")
                    % {"f": name, "type": attr.get_datatype_display()},
                    fields={name: attr.datatype},
                ) from None
        else:
            limit = 2000 if attr.datatype == ServiceAttribute.Datatype.TEXT else 300
            values = [clean_text(v, name, limit=limit) for v in values]
        answers.append((attr, values))
    return answers


def _answer_lines(answers: list[tuple[ServiceAttribute, list[str]]]) -> list[str]:
    lines = []
    for attr, values in answers:
        names = attr.value_names()
        shown = [names.get(v, v) for v in values] if attr.datatype in attr.LIST_TYPES else values
        lines.append(f"{attr.description}: {', '.join(shown)}")
    return lines


def open311_request_create(*, posted: PostedRequest, client_ip: str = "") -> PostReceipt:
    """Register a posted service request; its Open311 details go to `ExternalRef`s: one for the
    request (attributes, device and account ids, media URL) and one for its token."""
    actor = open311_authenticate(posted.api_key)
    check_jurisdiction(posted.jurisdiction_id)
    if not posted.service_code.strip():
        raise InvalidInput(
            "missing_field", _("service_code is required"), fields={"service_code": "required"}
        )
    try:
        topic = service_topic(posted.service_code.strip())
    except NotFound as exc:
        # An unknown code in a posted form is a bad parameter, not a missing resource.
        raise InvalidInput(
            "invalid_input", exc.message, fields={"service_code": "unknown"}
        ) from None
    lat = _coordinate(posted.lat, "lat", 90)
    lng = _coordinate(posted.long, "long", 180)
    address = clean_text(posted.address_string, "address_string", limit=250)
    address_id = clean_text(posted.address_id, "address_id", limit=40)
    if (lat is None or lng is None) and not address and not address_id:
        raise InvalidInput(
            "missing_field",
            _("a location is required: lat and long, address_string or address_id"),
            fields={"lat": "required", "long": "required", "address_string": "required"},
        )
    description = clean_text(posted.description, "description", limit=DESCRIPTION_MAX)
    answers = check_attributes(service_attributes(topic), posted.attributes)
    content = "\n".join([description or topic.name, *_answer_lines(answers)])
    title = f"{topic.name}：{description}" if description else topic.name
    if len(title) > len(topic.name) + 1 + TITLE_START:
        title = title[: len(topic.name) + 1 + TITLE_START] + "…"
    name = " ".join(p for p in (posted.first_name.strip(), posted.last_name.strip()) if p)
    petitioner = PetitionerData(name=name, phone=posted.phone.strip(), email=posted.email.strip())
    submission = Submission(
        title=title[:TITLE_MAX],
        content=content,
        topic=topic.code,
        channel=Case.Channel.API,
        petitioners=[petitioner] if name else [],
        anonymous=not name,
        location=address or (f"address_id {address_id}" if address_id else ""),
        lat=lat,
        lng=lng,
    )
    token = secrets.token_urlsafe(18)
    with write_transaction():
        receipt = petition_submit(submission=submission, actor=actor, client_ip=client_ip)
        case = receipt.case
        now = timezone.now()
        data: dict[str, Any] = {
            "attributes": {a.code: v for a, v in answers},
            "address_id": address_id,
            "device_id": clean_text(posted.device_id, "device_id", limit=200),
            "account_id": clean_text(posted.account_id, "account_id", limit=200),
            "media_url": clean_text(posted.media_url, "media_url", limit=1000),
        }
        ExternalRef.objects.create(
            case=case, source=SOURCE, external_id=case.tracking_number, requested_at=now, data=data
        )
        ExternalRef.objects.create(case=case, source=TOKEN_SOURCE, external_id=token)
    return PostReceipt(service_request_id=case.tracking_number, token=token)
