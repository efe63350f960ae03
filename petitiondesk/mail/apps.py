from django.apps import AppConfig


class MailConfig(AppConfig):
    """E-mail intake: the IMAP poller, the .eml / Maildir importer and the quarantine."""

    name = "petitiondesk.mail"
    label = "mail"
