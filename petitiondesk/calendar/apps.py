from django.apps import AppConfig


class CalendarConfig(AppConfig):
    name = "petitiondesk.calendar"
    label = "workcalendar"
