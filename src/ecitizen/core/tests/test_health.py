from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ecitizen.core.services import worker_heartbeat


@pytest.fixture
def database_tasks(settings):
    settings.TASKS_BACKEND = "database"


@pytest.mark.django_db
def test_unhealthy_without_a_worker(client, database_tasks):
    response = client.get(reverse("core:healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"]["status"] == "ok"
    assert body["worker"] == {
        "status": "error",
        "alive": 0,
        "healthy_within_seconds": 60,
        "last_heartbeat": None,
    }


@pytest.mark.django_db
def test_healthy_with_a_recent_heartbeat_and_unhealthy_when_it_is_stale(client, database_tasks):
    started = timezone.now()
    worker_heartbeat(worker_id="w1", started_at=started, pid=123)
    response = client.get(reverse("core:healthz"))
    assert response.status_code == 200
    assert response.json()["worker"]["alive"] == 1

    import time_machine

    with time_machine.travel(started + timedelta(seconds=61)):
        response = client.get(reverse("core:healthz"))
    assert response.status_code == 503
    assert response.json()["worker"]["age_seconds"] >= 61


@pytest.mark.django_db
def test_health_reads_a_fixed_number_of_queries_whatever_the_number_of_workers(
    client, database_tasks, django_assert_num_queries
):
    started = timezone.now()
    worker_heartbeat(worker_id="w1", started_at=started, pid=1)
    client.get(reverse("core:healthz"))  # caches warmed
    # The database's answer, the workers' heartbeats, how many are alive, the task queue.
    with django_assert_num_queries(4):
        assert client.get(reverse("core:healthz")).status_code == 200
    for number in range(2, 6):
        worker_heartbeat(worker_id=f"w{number}", started_at=started, pid=number)
    with django_assert_num_queries(4):
        response = client.get(reverse("core:healthz"))
    assert response.json()["worker"]["alive"] == 5
