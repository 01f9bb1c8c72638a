"""Background work of the participation app."""

from __future__ import annotations

from django_tasks import task


@task()
def results_count_task(budget_id: int, actor_id: int | None) -> None:
    """Count a budget's ballots (enqueued by ``services.budgets.results_count_request``
    when its request commits). Idempotent: a retry after a worker died counts again."""
    from ecitizen.participation.services.budgets import results_count_run

    results_count_run(budget_id=budget_id, actor_id=actor_id)
