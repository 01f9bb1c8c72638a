"""Mail is queued on commit and delivered by the task worker."""

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction

from ecitizen.core.mail import QueuedEmailBackend


@pytest.fixture
def queued(settings):
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return get_connection("ecitizen.core.mail.QueuedEmailBackend")


def _message():
    message = EmailMultiAlternatives("Subject", "Body", "from@example.test", ["to@example.test"])
    message.attach_alternative("<p>Body</p>", "text/html")
    return message


@pytest.mark.db_specific
@pytest.mark.django_db(transaction=True)
def test_mail_is_sent_only_when_the_transaction_commits(queued):
    assert isinstance(queued, QueuedEmailBackend)
    with transaction.atomic():
        queued.send_messages([_message()])
        assert mail.outbox == []
    assert len(mail.outbox) == 1
    assert mail.outbox[0].alternatives[0].content == "<p>Body</p>"


@pytest.mark.db_specific
@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_sends_nothing(queued):
    def failing_change():
        with transaction.atomic():
            queued.send_messages([_message()])
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    assert mail.outbox == []


@pytest.mark.db_specific
@pytest.mark.django_db(transaction=True)
def test_the_database_queue_holds_the_mail_until_a_worker_runs(queued, settings):
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    settings.TASKS_BACKEND = "database"  # the settings fixture resets django-tasks' backends
    queued.send_messages([_message()])
    assert DBTaskResult.objects.count() == 1
    assert "Body" not in str(DBTaskResult.objects.get().args_kwargs)  # stored encrypted
    assert mail.outbox == []
    call_command("worker", "--batch", "--no-startup-delay", verbosity=0)
    assert len(mail.outbox) == 1
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


@pytest.mark.db_specific
@pytest.mark.django_db(transaction=True)
def test_failed_delivery_is_retried_later(settings, caplog):
    from django_tasks_db.models import DBTaskResult

    from ecitizen.core.tasks import send_email

    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    settings.TASKS_BACKEND = "database"
    settings.EMAIL_DELIVERY_BACKEND = "ecitizen.core.tests.test_mail.FailingBackend"
    send_email.call(_message_dict())
    retry = DBTaskResult.objects.get()
    assert retry.args_kwargs["args"][1] == 1  # the second attempt
    assert retry.run_after is not None
    assert "retrying in 60s" in caplog.text


class FailingBackend:
    def __init__(self, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server down")


def _message_dict():
    from ecitizen.core.mail import message_to_dict, seal

    return seal(message_to_dict(_message()))


@pytest.mark.django_db
def test_without_a_deferring_queue_a_failure_is_reported_at_once(settings, caplog):
    from ecitizen.core.tasks import send_email

    settings.EMAIL_DELIVERY_BACKEND = "ecitizen.core.tests.test_mail.FailingBackend"
    with pytest.raises(ConnectionRefusedError):
        send_email.call(_message_dict())
    assert "could not be delivered" in caplog.text
