"""The insights part of the Riverton demo (being written)."""

from typing import Any


def demo_insights_load(context: Any) -> None:
    """Loads 24 months of demand history, costs and staffing, then computes the figures."""
