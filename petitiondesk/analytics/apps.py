from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "petitiondesk.analytics"
    label = "analytics"
