"""The insights app's own records: what officials enter (costs, handling times, staffing)
and what the nightly jobs compute (monthly figures, forecasts, anomalies).

The events the figures are computed from stay in the apps that own them; the analytical
store (:mod:`ecitizen.insights.store`, DuckDB) holds a copy for computing, and these tables
hold the results, so that every web process on every machine reads the same figures from
the transactional database without touching DuckDB. Nothing here is personal: figures are
aggregates, and ``figures`` never holds a person's id.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

ZERO = Decimal("0")


class RoleHourlyCost(models.Model):
    """What an hour of an official in ``role`` costs the authority (salary, on-costs and
    overheads of the post), in the authority's currency. One per role; an edit applies to
    every month computed after it (a month's figures record the rate they used)."""

    role = models.CharField(max_length=30, unique=True)
    hourly_cost = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(ZERO)]
    )
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["role"]

    def __str__(self) -> str:
        return f"{self.role}: {self.hourly_cost}"


class ServiceMonthCost(models.Model):
    """A service's costs of one month other than staff time on cases: fixed running costs
    (hosting, licences, premises, postage) split pro rata over the month's transactions,
    and start-up costs (building the service), recorded but excluded from cost per
    transaction as GOV.UK's definition asks."""

    service = models.ForeignKey("catalogue.Service", on_delete=models.PROTECT, related_name="+")
    #: The first day of the month.
    month = models.DateField()
    fixed_costs = models.DecimalField(
        max_digits=14, decimal_places=2, validators=[MinValueValidator(ZERO)]
    )
    startup_costs = models.DecimalField(
        max_digits=14, decimal_places=2, default=ZERO, validators=[MinValueValidator(ZERO)]
    )
    note = models.TextField(blank=True)
    entered_at = models.DateTimeField(default=timezone.now)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["service", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["service", "month"], name="insights_cost_month_once")
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.month:%Y-%m}"


class ActionTime(models.Model):
    """How long one workflow action of a service takes an official, and the role whose
    hourly cost prices it: measured from the cases' history (``measured_minutes``) and
    editable (``minutes`` is what the figures use)."""

    service = models.ForeignKey("catalogue.Service", on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=63)
    role = models.CharField(max_length=30)
    minutes = models.DecimalField(
        max_digits=7, decimal_places=1, validators=[MinValueValidator(ZERO)]
    )
    measured_minutes = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    #: Whether an official set ``minutes`` (a measurement no longer overwrites it).
    edited = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["service", "action"]
        constraints = [
            models.UniqueConstraint(fields=["service", "action"], name="insights_action_time_once")
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.action}: {self.minutes} min"


class ServiceStaffing(models.Model):
    """What the staffing advice of a service starts from: the officers it has, the hours
    each gives to its cases, and for a counter the opening hours and the waiting target."""

    service = models.OneToOneField("catalogue.Service", on_delete=models.PROTECT, related_name="+")
    #: Full-time equivalents working the service's cases now.
    officers = models.DecimalField(
        max_digits=6, decimal_places=1, validators=[MinValueValidator(ZERO)]
    )
    #: Contracted hours of one full-time officer a week.
    hours_per_week = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        default=Decimal("37.0"),
        validators=[MinValueValidator(Decimal("1"))],
    )
    #: Share of those hours spent on cases (the rest: leave, training, meetings).
    productive_share = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.75"),
        validators=[MinValueValidator(Decimal("0.05"))],
    )
    #: Counter: hours open a week, minutes a visit takes, the waiting-time target and the
    #: share of visitors who must be seen within it (Erlang C).
    counter_hours_per_week = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        default=Decimal("35.0"),
        validators=[MinValueValidator(Decimal("1"))],
    )
    counter_minutes_per_visit = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        default=Decimal("12.0"),
        validators=[MinValueValidator(Decimal("0.5"))],
    )
    counter_wait_target_seconds = models.PositiveIntegerField(default=300)
    counter_service_level = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.80"),
        validators=[MinValueValidator(Decimal("0.05"))],
    )
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.service_id}: {self.officers} officers"


class KpiMonth(models.Model):
    """The figures of one month for one scope: a service, a department, or the whole
    authority (``key`` empty). Written only by ``kpis_refresh``, which replaces the row:
    computing a month again gives the same row (docs/insights.md names every figure)."""

    class Scope(models.TextChoices):
        SERVICE = "service", _("Service")
        DEPARTMENT = "department", _("Department")
        AUTHORITY = "authority", _("Whole authority")

    scope = models.CharField(max_length=10, choices=Scope.choices)
    #: The service's or department's slug; empty for the authority.
    key = models.CharField(max_length=80, blank=True)
    service = models.ForeignKey(
        "catalogue.Service", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        "accounts.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    #: The first day of the month.
    month = models.DateField()
    figures = models.JSONField(default=dict)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["scope", "key", "month"]
        constraints = [
            models.UniqueConstraint(fields=["scope", "key", "month"], name="insights_kpi_once")
        ]
        indexes = [models.Index(fields=["month", "scope"])]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key} {self.month:%Y-%m}"


class Forecast(models.Model):
    """The latest demand forecast of one series (a service's applications, street reports
    or counter visits, per day or per week), with the model chosen by backtest and its
    measured error. ``status`` ``short`` when the history is too short to forecast:
    ``needed_points`` says how much is needed."""

    class Series(models.TextChoices):
        APPLICATIONS = "applications", _("Applications")
        REPORTS = "reports", _("Street reports")
        COUNTER = "counter", _("Counter visits")

    class Frequency(models.TextChoices):
        DAY = "day", _("Daily")
        WEEK = "week", _("Weekly")

    class Status(models.TextChoices):
        OK = "ok", _("Forecast")
        SHORT = "short", _("Too little history")

    service = models.ForeignKey("catalogue.Service", on_delete=models.PROTECT, related_name="+")
    series = models.CharField(max_length=12, choices=Series.choices)
    frequency = models.CharField(max_length=4, choices=Frequency.choices)
    status = models.CharField(max_length=5, choices=Status.choices)
    history_points = models.PositiveIntegerField(default=0)
    needed_points = models.PositiveIntegerField(default=0)
    #: The model shown (``SeasonalNaive`` when no candidate beat it).
    model = models.CharField(max_length=40, blank=True)
    #: Backtest error of the shown model relative to the seasonal naive's (< 1 beats it).
    mase = models.FloatField(null=True, blank=True)
    #: Every candidate's backtest figures, the windows and the horizon.
    backtest = models.JSONField(default=dict)
    #: ``[{"date", "mean", "lo80", "hi80", "lo95", "hi95"}, ...]`` for the horizon.
    points = models.JSONField(default=list)
    #: The recent actuals the chart shows before the forecast: ``[{"date", "value"}]``.
    history = models.JSONField(default=list)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["service", "series", "frequency"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "series", "frequency"], name="insights_forecast_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.series}/{self.frequency}"


class Anomaly(models.Model):
    """A week whose demand fell outside the 95% interval forecast for it, flagged on the
    dashboard and notified once to the service's managers."""

    service = models.ForeignKey("catalogue.Service", on_delete=models.PROTECT, related_name="+")
    series = models.CharField(max_length=12, choices=Forecast.Series.choices)
    #: The Monday of the week.
    week = models.DateField()
    observed = models.FloatField()
    expected = models.FloatField()
    low95 = models.FloatField()
    high95 = models.FloatField()
    created_at = models.DateTimeField(default=timezone.now)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-week", "service"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "series", "week"], name="insights_anomaly_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.series} {self.week}"
