from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "petitiondesk.supervision"
    label = "supervision"
