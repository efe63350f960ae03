"""API tokens: hashed, revocable, remembered briefly per process."""

import time

import pytest
from django.utils import timezone

from petitiondesk.accounts.models import ApiToken
from petitiondesk.accounts.services import token_authenticate, token_create, token_revoke
from petitiondesk.core import memo

pytestmark = pytest.mark.django_db


def test_a_token_revoked_here_stops_working_at_once(clerk_alice):
    raw = token_create(user=clerk_alice)
    assert token_authenticate(raw) == clerk_alice
    token_revoke(token_id=ApiToken.objects.get(user=clerk_alice).pk)
    assert token_authenticate(raw) is None


def test_a_token_revoked_by_another_process_stops_working_once_the_memo_expires(
    clerk_alice, settings, monkeypatch
):
    raw = token_create(user=clerk_alice)
    assert token_authenticate(raw) == clerk_alice
    ApiToken.objects.filter(user=clerk_alice).update(revoked_at=timezone.now())
    assert token_authenticate(raw) == clerk_alice  # still remembered: the documented delay
    later = time.monotonic() + settings.PETITIONDESK_TOKEN_CACHE_SECONDS + 1
    monkeypatch.setattr(memo.time, "monotonic", lambda: later)
    assert token_authenticate(raw) is None


def test_the_last_use_is_recorded_without_a_write_per_request(
    clerk_alice, django_assert_num_queries
):
    raw = token_create(user=clerk_alice)
    token_authenticate(raw)
    assert ApiToken.objects.get(user=clerk_alice).last_used_at is not None
    with django_assert_num_queries(0):
        token_authenticate(raw)
