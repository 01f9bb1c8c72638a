"""Web processes killed with SIGKILL in the middle of residents' applications and payments
lose nothing and do nothing twice.

Two gunicorns behind the shipped HAProxy configuration, a worker, and residents applying
for garden waste collection and paying its fee on the sandbox's card page, over and over
(real HTTP journeys, each step a form fetched and posted). Three times a web process is
killed (its whole process group, SIGKILL) at a fault point of :mod:`tests.faults.inject`:
just after it committed an application, a payment's creation, a payment's settlement,
before anything that was to follow the commit and before its answer left. The resident
whose request it was gets an error from the balancer, and does what a person does: sends
the form again. The killed process is started again, as its service manager would.

Afterwards: every confirmation shown is one case, and no resident has a case twice;
every payment shown as received, and every payment the provider settled, is settled once
with one receipt, and its case knows it is paid; no task is left or failed; ``audit
verify`` and ``ledger check`` pass.
"""

from __future__ import annotations

import re
import sys

import pytest

from ecitizen.cases.models import Case, CaseEvent
from tests.faults.checks import (
    assert_commands_pass,
    assert_no_retry_pending,
    assert_no_task_failed,
    wait_for_the_queue,
)
from tests.faults.stack import postgres_only
from tests.processes import needs_haproxy, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.db_specific,
    postgres_only,
    needs_haproxy,
]

#: Where the web processes die: just after committing the audited change.
FAULTS = {
    "cases.submitted": "an application being sent",
    "payments.payment_created": "a payment being started",
    "payments.payment_settled": "a payment being settled",
}


def test_web_processes_killed_mid_application_and_mid_payment(start_traffic):
    traffic = start_traffic()
    stack, load = traffic.stack, traffic.load

    killed = []
    for action, what in FAULTS.items():
        wait_for(traffic.all_in_rotation, "both web processes in rotation")
        stack.arm("commit", rf"^{re.escape(action)}$")
        held = stack.wait_held("commit", f"a web process committing {what}")
        name = stack.kill_group(held["pgid"])
        killed.append(f"{name} after committing {held['subject']}")
        stack.start_web(name)  # as its service manager would
    load.mark()
    load.finish(at_least=1)  # everyone completes a journey after the last kill

    wait_for_the_queue()
    assert_no_task_failed()
    # Nothing failed on the way to be retried later, but the webhooks that met a killed
    # process (the sandbox tries again after 10 s; the return page had settled them).
    assert_no_retry_pending(allowed=("ecitizen.payments.tasks.sandbox_deliver_webhook",))
    cases = traffic.assert_each_once()
    for case in Case.objects.all():  # each fee paid once, as the case knows
        assert case.payment_status == "paid", case.reference
        assert case.events.filter(kind=CaseEvent.Kind.PAID).count() == 1, case.reference
    assert_commands_pass(stack.env)

    # The residents did meet the faults: requests cut off by the killed processes. The
    # balancer always had a process to send the others to: no "service unavailable".
    outages = traffic.outages()
    cut_off = [outage for outage in outages if outage.status == 502]
    errors = [error for resident in traffic.residents for error in resident.record.errors]
    assert len(cut_off) + len(errors) >= 2, (cut_off, errors)
    assert not [outage for outage in outages if outage.status != 502], outages
    sys.stdout.write(
        f"killed: {killed}; {cases} applications and payments; "
        f"{len(cut_off)} answers cut off, {len(errors)} connection errors\n"
    )
