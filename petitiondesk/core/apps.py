from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "petitiondesk.core"
    label = "core"
