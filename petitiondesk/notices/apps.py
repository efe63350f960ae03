from django.apps import AppConfig


class NoticesConfig(AppConfig):
    """Written notices: templates, issued notices frozen as PDF, and their delivery."""

    name = "petitiondesk.notices"
    label = "notices"
