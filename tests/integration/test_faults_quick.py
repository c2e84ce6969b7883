"""Issue 7's quick fault subset (the full runs are `make bench`'s bench/faults.py): two gateway
web processes, two workers and two Rasa servers sharing a Redis of their own and PostgreSQL
(behind a cuttable proxy), while residents write: one Rasa killed and revived, every webhook
delivered twice, the channel answering 429 and 500. Zero lost, zero duplicated, recovery within
10 s of the service returning. About two and a half minutes on two idle cores, most of it two
Rasa servers loading their model and one loading it again.

Its own ports (gateway 19000-19001, Rasa 16005-16006, actions 16055, sandbox 19100), its own
database (`<TEST_DATABASE_URL's database>_faults`) and a private redis-server.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from bench import faults, harness
from bot.stack import Ports
from tests.gateway.conftest import PG_URL

pytestmark = pytest.mark.integration

PORTS = Ports(gateway=19000, rasa=16005, actions=16055, sandbox=19100)
DATABASE_URL = os.environ.get(
    "TEST_FAULTS_DATABASE_URL",
    make_url(PG_URL).set(database=f"{make_url(PG_URL).database}_faults")
    .render_as_string(hide_password=False))
RATE, DURATION_S = 3.0, 6.0  # 18 residents a phase; the fault from 2 s to 4 s (or back)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[faults.Faulty]:
    if shutil.which("redis-server") is None:
        pytest.fail("the fault tests kill a Redis of their own: install redis-server "
                    "(Debian: apt-get install redis-server)")
    work = tmp_path_factory.mktemp("faults")
    with faults.private_services(work / "redis", DATABASE_URL) as (redis_server, proxy):
        proxied = make_url(DATABASE_URL).set(host="127.0.0.1", port=proxy.port) \
            .render_as_string(hide_password=False)
        with harness.running_stack(
                PORTS, database_url=proxied, redis_url=redis_server.url,
                extra_env=faults.stack_env(redis_server, replicas=2), work=work,
                start_timeout_s=float(os.environ.get("PINTU_STACK_TIMEOUT", "240"))) as running:
            yield faults.Faulty(running, redis_server, proxy)


def _check(result: dict[str, Any], log_dir: Path) -> None:
    where = f"{result}; logs in {log_dir}"
    assert result["lost"] == 0, where
    assert result["duplicates"] == 0, where
    assert result["recovery_s"] is None or result["recovery_s"] <= faults.RECOVERY_TARGET_S, where


@pytest.mark.parametrize("fault", ["rasa", "duplicates", "channel_429", "channel_500"])
async def test_nothing_lost_or_duplicated_and_quick_recovery(faulty: faults.Faulty,
                                                              fault: str) -> None:
    index = ["rasa", "duplicates", "channel_429", "channel_500"].index(fault)
    result = await faults.phase(faulty, fault, index, rate=RATE, duration_s=DURATION_S,
                                drain_timeout_s=60.0)
    assert result["residents"] == int(RATE * DURATION_S)
    _check(result, faulty.running.log_dir)
    if fault == "rasa":  # the other server answered while this one was away (and loading)
        assert result["e2e_ms"]["max"] < 1000 * result["outage_s"], result
