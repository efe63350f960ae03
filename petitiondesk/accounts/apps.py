from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "petitiondesk.accounts"
    label = "accounts"
