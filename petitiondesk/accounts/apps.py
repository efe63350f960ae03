from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "petitiondesk.accounts"
    label = "accounts"
    default = True


class SecureAdminConfig(admin_apps.AdminConfig):
    """Django's admin, behind our login page and its second factor."""

    default = False
    default_site = "petitiondesk.accounts.adminsite.SecureAdminSite"
