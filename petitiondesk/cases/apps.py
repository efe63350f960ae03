from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "petitiondesk.cases"
    label = "cases"
