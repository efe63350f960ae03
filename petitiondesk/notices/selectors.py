"""Reading a case's notices and their deliveries (the case is read through `access_case`)."""

from __future__ import annotations

from petitiondesk.accounts.models import User
from petitiondesk.cases.models import Case
from petitiondesk.cases.selectors import REDACTED, may_see_confidential_petitioner

from .models import Delivery, Notice


def notices_of(case: Case) -> list[Notice]:
    """The case's notices, oldest first, with their deliveries and issuers (three queries)."""
    return list(
        case.notices.select_related("issued_by", "org").prefetch_related("deliveries").all()
    )


def notice_with_deliveries(notice_id: int) -> Notice:
    return (
        Notice.objects.select_related("issued_by", "org")
        .prefetch_related("deliveries")
        .get(pk=notice_id)
    )


def notice_of(case: Case, notice_id: int) -> Notice | None:
    return case.notices.select_related("attachment").filter(pk=notice_id).first()


def delivery_of(case: Case, delivery_id: int) -> Delivery | None:
    return (
        Delivery.objects.select_related("notice")
        .filter(pk=delivery_id, notice__case_id=case.pk)
        .first()
    )


def delivery_address(case: Case, delivery: Delivery, viewer: User) -> str:
    """The address as `viewer` may see it: a confidential petitioner's contact details only for
    the handler of the case (as `petitioners_for`)."""
    if case.confidential and delivery.address and not may_see_confidential_petitioner(case, viewer):
        return REDACTED
    return delivery.address
