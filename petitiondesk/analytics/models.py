"""Pre-aggregated counts for dashboards and KPIs, kept current from the case event log.

Pages and the API read `DailyCount` only (style.md: dashboards never aggregate the live case
table). `analytics.rollup` maintains it: `CaseTally` remembers what each case contributes, so a
case re-classified or acted on later moves its counts instead of counting them twice, and
`RollupState` is the high-water mark of processed events (locked while a roll-up runs).
"""

from __future__ import annotations

from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext_lazy as _

from petitiondesk.accounts.models import Organisation
from petitiondesk.cases.models import Case


class RollupState(models.Model):
    """How far a reader of an append-only log has read: `counts` (the roll-up, event ids) and
    `backlog_links` (the backlog sweep's repeat check, case-link ids)."""

    name = models.CharField(max_length=32, unique=True)
    last_event_id = models.BigIntegerField(default=0)
    ran_at = models.DateTimeField(null=True, blank=True)
    rebuilt_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} at event {self.last_event_id}"

    @classmethod
    def named(cls, name: str) -> RollupState:
        """The row of `name`, created at 0 the first time (safe when two workers race)."""
        try:
            with transaction.atomic():
                return cls.objects.get_or_create(name=name)[0]
        except IntegrityError:  # another worker created it at the same moment
            return cls.objects.get(name=name)


class Dimension(models.TextChoices):
    TOTAL = "", _("total")
    TOPIC = "topic", _("topic")
    DIVISION = "division", _("division")
    CHANNEL = "channel", _("channel")
    CATEGORY = "category", _("category")
    TOPIC_DIVISION = "topic_division", _("topic × division")


class _Count(models.Model):
    """The columns of `DailyCount` and `MonthlyCount`, which the one roll-up writes alike."""

    Dimension = Dimension

    day = models.DateField()
    # No index of its own: both indexes of a count table already lead to it, and each extra
    # index is one more to maintain on every upsert of the roll-up.
    org = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    metric = models.CharField(max_length=40)
    dimension = models.CharField(max_length=16, choices=Dimension.choices, blank=True)
    value = models.CharField(max_length=96, blank=True)
    n = models.IntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.day} {self.metric} {self.dimension}={self.value}: {self.n}"


class DailyCount(_Count):
    """How many times `metric` happened on `day` at `org`, in total (`dimension` "") or for one
    value of one case dimension (topic, division, channel, category, topic × division).

    Key/value rather than one wide row per combination of dimensions: each chart reads one
    dimension at a time, so storing the marginals keeps the rows a chart scans to
    days x organisations x values of that one dimension, and new metrics need no migration.
    """

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "org", "metric", "dimension", "value"], name="daily_count_key"
            )
        ]
        indexes = [
            # Every read is "one metric, one dimension, a range of days, some organisations";
            # with value and n in the key too, PostgreSQL answers it from the index alone.
            models.Index(
                fields=["metric", "dimension", "day", "org", "value", "n"],
                name="daily_count_read_all",
            ),
        ]


class MonthlyCount(_Count):
    """`DailyCount` summed by calendar month (`day` is the month's first day), written by the
    same roll-up. A long period reads its whole months here and only its ragged ends by day: a
    year is 12 rows per key instead of 365."""

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "org", "metric", "dimension", "value"], name="monthly_count_key"
            )
        ]
        indexes = [
            models.Index(
                fields=["metric", "dimension", "day", "org", "value", "n"],
                name="monthly_count_read_all",
            ),
        ]


class InHandCount(models.Model):
    """Cases held now by `org` in `status`, and how many of them are overdue, as of the last
    roll-up: the dashboard's "in hand" and "overdue now" charts, which would otherwise count
    the live case table (hundreds of thousands of open cases at 10M)."""

    org = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16)
    n = models.IntegerField(default=0)
    overdue = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "status"], name="in_hand_key")]

    def __str__(self) -> str:
        return f"{self.org_id} {self.status}: {self.n} ({self.overdue} overdue)"


class CaseTally(models.Model):
    """What one case contributes to `DailyCount` as last rolled up: its dimensions and its
    entries `[day, org_id, metric, n]`. The roll-up recomputes a case's entries from its events
    and clocks and applies only the difference."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, primary_key=True, related_name="+")
    topic = models.CharField(max_length=64, blank=True)
    division_code = models.CharField(max_length=12, blank=True)
    channel = models.CharField(max_length=8, blank=True)
    category = models.CharField(max_length=16, blank=True)
    entries = models.JSONField(default=list)
    # Where the case stood when last rolled up (its row in `InHandCount`).
    holder_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, blank=True)
    overdue = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"tally of case {self.case_id}"
