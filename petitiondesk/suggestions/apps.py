from django.apps import AppConfig


class SuggestionsConfig(AppConfig):
    """People's suggestions (人民建议征集): solicitations, assessment, adoption and public support."""

    name = "petitiondesk.suggestions"
    label = "suggestions"
