"""Support for the killed-worker test: a mail backend that a real ``ecitizen worker``
process loads, which writes each message to a folder and can be made to hang.

``ECITIZEN_TEST_MAIL_DIR`` names the folder. While a file ``block`` exists there, a
delivery first creates ``started-<pid>`` (so the test knows the worker is inside the
task) and then waits until ``block`` is removed, as a mail server that never answers
would make it wait; the test kills the worker in that wait.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend


class BlockingFileEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        folder = Path(os.environ["ECITIZEN_TEST_MAIL_DIR"])
        block = folder / "block"
        if block.exists():
            (folder / f"started-{os.getpid()}").touch()
            while block.exists():
                time.sleep(0.05)
        for message in email_messages:
            (folder / f"{uuid.uuid4().hex}.eml").write_bytes(message.message().as_bytes())
        return len(email_messages)
