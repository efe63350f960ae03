from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "petitiondesk.routing"
    label = "routing"
