from django.apps import AppConfig


class WebConfig(AppConfig):
    """The pages: the citizen portal and the staff workbench (thin adapters over the services)."""

    name = "petitiondesk.web"
    label = "web"
