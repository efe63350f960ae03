from django.apps import AppConfig


class Open311Config(AppConfig):
    """The Open311 GeoReport v2 server at /open311/v2 (api.md)."""

    name = "petitiondesk.open311"
    label = "open311"
