"""How `bot.stack.Stack` places replicas and points Rasa at Redis (no process is started)."""

from __future__ import annotations

import re

import pytest

from bot.stack import RASA_TRACKER_TTL_S, ROOT, Ports, Stack, rasa_redis_env

PORTS = Ports(gateway=29000, rasa=26005, actions=26055, sandbox=29100)


def _argv_port(stack: Stack, name: str) -> int:
    argv = stack.service(name).argv
    return int(argv[argv.index("--port") + 1])


def test_two_replicas_of_gateway_worker_and_rasa_on_neighbouring_ports() -> None:
    stack = Stack(ports=PORTS, env={"REDIS_URL": "redis://127.0.0.1:6399/0"}, model="m.tar.gz",
                  replicas=2)
    assert [s.name for s in stack.services] == [
        "sandbox", "actions", "rasa", "rasa-2", "gateway", "gateway-2", "worker", "worker-2"]
    assert (_argv_port(stack, "rasa"), _argv_port(stack, "rasa-2")) == (26005, 26006)
    assert (_argv_port(stack, "gateway"), _argv_port(stack, "gateway-2")) == (29000, 29001)
    assert stack.service("rasa-1") is stack.service("rasa")
    assert stack.urls("gateway") == ["http://127.0.0.1:29000", "http://127.0.0.1:29001"]
    env = stack._environment()
    assert env["RASA_URLS"] == "http://127.0.0.1:26005,http://127.0.0.1:26006"
    assert env["RUN_WORKERS"] == "false"
    for name in ("rasa", "rasa-2"):
        argv = stack.service(name).argv
        assert argv[argv.index("--endpoints") + 1] == str(ROOT / "endpoints-redis.yml")


def test_replicas_from_the_environment_and_only_with_redis() -> None:
    stack = Stack(ports=PORTS, env={"REDIS_URL": "redis://127.0.0.1:6399/0",
                                    "STACK_REPLICAS": "3"}, model="m.tar.gz")
    assert stack.replicas == 3 and stack.service("gateway-3")
    with pytest.raises(ValueError, match="REDIS_URL"):
        Stack(ports=PORTS, env={"REDIS_URL": ""}, model="m.tar.gz", replicas=2)


def test_one_rasa_without_redis_keeps_conversations_in_memory() -> None:
    stack = Stack(ports=PORTS, env={"REDIS_URL": ""}, model="m.tar.gz")
    assert [s.name for s in stack.services] == ["sandbox", "actions", "rasa", "gateway"]
    argv = stack.service("rasa").argv
    assert argv[argv.index("--endpoints") + 1] == str(ROOT / "endpoints.yml")
    assert "RASA_REDIS_HOST" not in stack._environment()


def test_rasa_stores_go_to_their_own_redis_db_and_every_variable_is_set() -> None:
    stack = Stack(ports=PORTS, model="m.tar.gz", env={
        "REDIS_URL": "redis://127.0.0.1:6399/0",
        "RASA_REDIS_URL": "redis://rasa:p%40ss@127.0.0.1:6399/1"})
    env = stack._environment()
    assert env["RASA_REDIS_DB"] == "1" and env["RASA_REDIS_PASSWORD"] == "p@ss"
    assert env["RASA_REDIS_USERNAME"] == "rasa" and env["RASA_REDIS_SSL"] == ""
    assert env["RASA_TRACKER_TTL_S"] == str(RASA_TRACKER_TTL_S)
    # Rasa stops on a ${VAR} that is not set: the stack sets every one the file names.
    lines = (ROOT / "endpoints-redis.yml").read_text().splitlines()
    names = {name for line in lines if not line.lstrip().startswith("#")
             for name in re.findall(r"\$\{(\w+)\}", line)}
    assert names and names <= env.keys()


def test_rasa_redis_env_falls_back_to_defaults_and_knows_tls() -> None:
    assert rasa_redis_env("rediss://cache.example:6380") == {
        "RASA_REDIS_HOST": "cache.example", "RASA_REDIS_PORT": "6380", "RASA_REDIS_DB": "0",
        "RASA_REDIS_USERNAME": "", "RASA_REDIS_PASSWORD": "", "RASA_REDIS_SSL": "true"}
