"""Writes of the insights app, one module per concern: ``kpis`` (computing the monthly
figures), ``costs`` (costs, hourly rates, handling times and staffing that officials
enter) and ``forecasts`` (forecasts, anomalies and their notices). Callers import the
module they need (``from ecitizen.insights.services import kpis``)."""

from ecitizen.insights.services.errors import InsightsError

#: See the performance dashboards: a service manager for their department (and ward), a
#: performance officer for the whole authority.
INSIGHTS_READ = "insights.read"
#: Enter the costs the cost per transaction is built from (a department's services; the
#: hourly cost of roles needs an authority-wide assignment).
INSIGHTS_COSTS = "insights.costs"
#: Set what staffing advice starts from (officers, hours, handling times) and compute a
#: month's figures again.
INSIGHTS_PLAN = "insights.plan"

__all__ = ["INSIGHTS_COSTS", "INSIGHTS_PLAN", "INSIGHTS_READ", "InsightsError"]
