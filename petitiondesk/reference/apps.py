from django.apps import AppConfig


class ReferenceConfig(AppConfig):
    """Reference data the forms offer: the topic taxonomy and the administrative divisions."""

    name = "petitiondesk.reference"
    label = "reference"
