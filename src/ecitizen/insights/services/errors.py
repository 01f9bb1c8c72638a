"""The insights app's domain error."""

from ecitizen.core.errors import DomainError


class InsightsError(DomainError):
    """Something an official asked of the insights app that cannot be done, with a stable
    ``code`` (``future_month``, ``negative_cost``, ``not_enough_history``...)."""
