"""Background tasks of the e-mail intake (run by the worker, enqueued on commit)."""

from __future__ import annotations

from django_tasks import task

from .services import ack_send


@task()
def send_ack(message_pk: int) -> bool:
    """Send one acknowledgement; a message already sent or claimed elsewhere is left alone."""
    return ack_send(message_pk=message_pk)
