"""TALLY_LOG_FORMAT=json makes every log line one JSON object; a line written while a command runs
carries its command id and correlation id, a line written outside one carries neither. A process
manager's commands log with their ids too, its refusals included. Plain text stays the default."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from uuid import uuid4

import pytest

from ledger import log_context, store
from ledger.domain.commands import Withdraw
from ledger.domain.errors import DomainError
from ledger.log_context import CommandIds
from ledger.store import RecordedEvent
from projections.projectors.process import ProcessManager
from scripts.processes import ROOT
from tests.processes import DEAD_REDIS, child_env
from tests.write.helpers import open_account

# A process of its own, configured from the environment as any Tally process is: a hook that logs
# after each command commits (inside the command), a refusal logged with its traceback (outside).
SCRIPT = """
import logging, sys, uuid
import django
django.setup()
from ledger import hooks
from ledger.domain.commands import OpenAccount, Withdraw
from ledger.domain.errors import DomainError
from ledger.execute import execute

log = logging.getLogger("tally.test")
hooks.on_command_committed(lambda result: log.info("committed %s", result.command_id))
log.info("before any command")
account, command, correlation = (uuid.UUID(arg) for arg in sys.argv[1:4])
opening = OpenAccount(command_id=command, account_id=account, owner="Json Lines", currency="EUR")
execute(opening, actor="teller", correlation_id=correlation)
try:
    execute(Withdraw(account_id=account, amount=500, currency="EUR"), actor="teller")
except DomainError:
    log.exception("refused, as expected")
log.warning("a message\\nover two lines")
"""


def run(log_format: str | None, *ids: str) -> subprocess.CompletedProcess[str]:
    env = {**child_env(DEAD_REDIS), "TALLY_LOG_FORMAT": log_format or ""}
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, *ids], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_json_log_lines_parse_and_carry_the_command_and_correlation_ids(committed):
    account, command, correlation = str(uuid4()), str(uuid4()), str(uuid4())

    done = run("json", account, command, correlation)

    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]  # every line is one JSON object
    by_message = {line["message"]: line for line in lines}
    committed_line = by_message[f"committed {command}"]
    assert committed_line["command_id"] == command and committed_line["correlation_id"] == correlation
    assert committed_line["level"] == "INFO" and committed_line["logger"] == "tally.test" and committed_line["time"]
    before = by_message["before any command"]
    assert "command_id" not in before and "correlation_id" not in before
    refused = by_message["refused, as expected"]
    assert "InsufficientFunds" in refused["exc_info"] and "command_id" not in refused
    assert by_message["a message\nover two lines"]["level"] == "WARNING"


def test_plain_text_is_the_default_and_any_other_format_is_refused(committed):
    plain = run(None, str(uuid4()), str(uuid4()), str(uuid4()))
    refused = run("xml", str(uuid4()), str(uuid4()), str(uuid4()))

    assert plain.returncode == 0, plain.stderr
    assert " INFO tally.test: before any command" in plain.stderr
    assert not plain.stderr.lstrip().startswith("{")
    assert refused.returncode != 0 and "TALLY_LOG_FORMAT 'xml'" in refused.stderr


class Refusing(ProcessManager):
    """A process manager whose reaction the rules refuse."""

    name = "refusing"
    handles = frozenset({"AccountOpened"})

    def react(self, event: RecordedEvent) -> None:
        self.act(Withdraw(account_id=event.stream_id, amount=10, currency="EUR"), cause=event)


def test_a_process_managers_command_logs_with_its_ids_even_when_refused(committed, caplog):
    account = open_account()
    cause = store.read_stream(account)[0]
    caplog.handler.addFilter(CommandIds())  # what the console handler has (config/settings.py)
    command = Withdraw(account_id=account, amount=10, currency="EUR")

    with caplog.at_level(logging.INFO, logger="projections.projectors.process"):
        outcome = Refusing().act(command, cause=cause)

    assert isinstance(outcome, DomainError)
    [record] = [r for r in caplog.records if "refused for event" in r.getMessage()]
    assert vars(record)["command_id"] == str(command.command_id)
    assert vars(record)["correlation_id"] == cause.metadata["correlation_id"]


@pytest.mark.parametrize("inside", [True, False])
def test_the_filter_adds_the_ids_only_inside_a_command(inside):
    record = logging.LogRecord("tally", logging.INFO, __file__, 1, "hello", None, None)
    if inside:
        with log_context.command(command_id="c-1", correlation_id="k-1"):
            CommandIds().filter(record)
    else:
        CommandIds().filter(record)

    assert getattr(record, "command_id", None) == ("c-1" if inside else None)
    assert getattr(record, "correlation_id", None) == ("k-1" if inside else None)
