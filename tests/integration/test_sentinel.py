"""Sentinel failover (issue 12, item 4): with ``REDIS_URL=redis+sentinel://…``
the app follows the new primary with no restart.

Private processes on free ports, nothing on disk: a primary, one replica and
one sentinel (quorum 1). A sign-in transaction is started on the primary and
replicated; then ``SENTINEL FAILOVER`` promotes the replica, or the primary
is killed. Requests meanwhile answer 503 with Retry-After or go through,
never 500; within seconds they go through again, the transaction started
before the failover carries on, and its writes land on the new primary.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from redis.sentinel import Sentinel

from app import create_app
from app.services import api_tokens
from app.store import migrations
from app.store.redis_client import SENTINEL_CHECK_EVERY, connect
from tests.compat.conftest import free_port
from tests.conftest import PASSWORD, OktaClient, profile, settings_for

pytestmark = pytest.mark.integration

SERVICE = "mymaster"
ANSWER = "Mr Bunny Rabbit"


def _wait_for(what: str, condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except redis.exceptions.ConnectionError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class RedisProcess:
    """A redis-server (or sentinel) of the test's own, keeping nothing on disk."""

    def __init__(self, workdir: Path, *args: str, config: str | None = None) -> None:
        self.port = free_port()
        workdir.mkdir(parents=True, exist_ok=True)
        server = shutil.which("redis-server")
        assert server, "redis-server is installed by scripts/ensure_services.sh"
        command = [server]
        if config is not None:  # a sentinel: it rewrites its file, so one of its own
            conf = workdir / "sentinel.conf"
            conf.write_text(f"port {self.port}\nbind 127.0.0.1\ndir {workdir}\n{config}")
            command += [str(conf), "--sentinel"]
        else:
            command += ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(workdir)]
            # No five-second wait before the first full sync of a replica.
            command += ["--save", "", "--appendonly", "no", "--repl-diskless-sync-delay", "0"]
            command += args
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.client = redis.Redis(port=self.port, decode_responses=True, socket_timeout=2)
        try:
            _wait_for(f"redis on port {self.port}", self.client.ping)
        except BaseException:
            self.stop()
            raise

    def role(self) -> str:
        return str(self.client.info("replication")["role"])

    def stop(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def processes() -> Iterator[list[RedisProcess]]:
    """Every process a test starts; all stopped when it ends, however it ends."""
    started: list[RedisProcess] = []
    yield started
    for process in reversed(started):
        process.stop()


def _in_sync(replica: RedisProcess) -> bool:
    info = replica.client.info("replication")
    return bool(info.get("master_link_status") == "up" and info.get("master_sync_in_progress") == 0)


class Topology:
    """Primary, replica and sentinel, and the URL the app is given."""

    def __init__(self, workdir: Path, processes: list[RedisProcess]) -> None:
        self.processes = processes
        self.primary = self._start(workdir / "primary")
        self.replica = self._start(
            workdir / "replica", "--replicaof", "127.0.0.1", str(self.primary.port)
        )
        _wait_for("the replica in sync", self._replica_in_sync)
        self.sentinel = self._start(
            workdir / "sentinel",
            config=(
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary.port} 1\n"
                f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                f"sentinel failover-timeout {SERVICE} 5000\n"
            ),
        )
        _wait_for("the sentinel to know the replica", self._sentinel_sees_replica)

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel.port}/{SERVICE}/0"

    def _start(self, workdir: Path, *args: str, config: str | None = None) -> RedisProcess:
        process = RedisProcess(workdir, *args, config=config)
        self.processes.append(process)
        return process

    def _replica_in_sync(self) -> bool:
        return _in_sync(self.replica)

    def _sentinel_sees_replica(self) -> bool:
        replicas = self.sentinel.client.sentinel_slaves(SERVICE)
        return any(
            r["port"] == self.replica.port and r["master-link-status"] == "ok" and not r["is_sdown"]
            for r in replicas
        )

    def replica_caught_up(self) -> bool:
        """The replica has applied everything the primary has written (its own
        offset: WAIT was seen to answer before the replica showed the keys)."""
        written = self.primary.client.info("replication")["master_repl_offset"]
        applied = self.replica.client.info("replication")["slave_repl_offset"]
        return bool(applied >= written)

    def primary_port(self) -> int:
        _, port = self.sentinel.client.sentinel_get_master_addr_by_name(SERVICE)
        return int(port)


@pytest.fixture
def topology(tmp_path: Path, processes: list[RedisProcess]) -> Topology:
    return Topology(tmp_path / "redis", processes)


def _until_it_goes_through(request: Callable[[], Any], seconds: float = 10) -> Any:
    """Poll ``request`` until it is not a 503; every 503 meanwhile is the outage
    answer (E0000010 with Retry-After), and nothing is ever a 500."""
    deadline = time.monotonic() + seconds
    while True:
        r = request()
        if r.status_code != 503:
            return r
        assert r.get_json()["errorCode"] == "E0000010", r.get_json()
        assert r.headers["Retry-After"] == "1"
        assert time.monotonic() < deadline, "still 503 after the failover"
        time.sleep(0.1)


def _require_mfa(admin: OktaClient, user_id: str) -> None:
    """A group of one whose sign-on policy asks for a second factor."""
    group = admin.post("/api/v1/groups", json={"profile": {"name": "MFA"}}).get_json()
    assert admin.put(f"/api/v1/groups/{group['id']}/users/{user_id}").status_code == 204
    policy = admin.post(
        "/api/v1/policies",
        json={
            "type": "OKTA_SIGN_ON",
            "name": "MFA",
            "priority": 1,
            "conditions": {"people": {"groups": {"include": [group["id"]]}}},
        },
    ).get_json()
    rule = admin.post(
        f"/api/v1/policies/{policy['id']}/rules",
        json={
            "name": "MFA",
            "priority": 1,
            "actions": {"signon": {"access": "ALLOW", "requireFactor": True}},
        },
    )
    assert rule.status_code == 200, rule.get_json()


@dataclass
class SignIn:
    """An app on the topology, a user who signs in with a password alone, and
    a sign-in transaction (MFA_REQUIRED) started on the first primary."""

    app: Flask
    client: OktaClient
    password_only: dict[str, str]
    state_token: str
    question_id: str

    def carries_on(self) -> str:
        """The transaction goes on to SUCCESS; its sessionToken."""
        r = _until_it_goes_through(
            lambda: self.client.post("/api/v1/authn", json={"stateToken": self.state_token})
        )
        assert r.status_code == 200 and r.get_json()["status"] == "MFA_REQUIRED", r.get_json()
        r = _until_it_goes_through(
            lambda: self.client.post(
                f"/api/v1/authn/factors/{self.question_id}/verify",
                json={"stateToken": self.state_token, "answer": ANSWER},
            )
        )
        assert r.status_code == 200 and r.get_json()["status"] == "SUCCESS", r.get_json()
        return str(r.get_json()["sessionToken"])

    def signs_in(self) -> None:
        r = _until_it_goes_through(
            lambda: self.client.post("/api/v1/authn", json=self.password_only)
        )
        assert r.status_code == 200 and r.get_json()["status"] == "SUCCESS", r.get_json()


@pytest.fixture
def sign_in(tmp_path: Path, topology: Topology) -> SignIn:
    app = create_app(settings_for(tmp_path, redis_url=topology.url, outage_retry_after=1))
    ctx = app.extensions["portcullis"]
    migrations.upgrade(ctx.stores.database)
    _, token = api_tokens.create_token(ctx, "sentinel")
    admin, client = OktaClient(app.test_client(), token), OktaClient(app.test_client(), None)
    plain = admin.post(
        "/api/v1/users?activate=true",
        json={"profile": profile(), "credentials": {"password": {"value": PASSWORD}}},
    ).get_json()
    login = "mfa.user@example.com"
    mfa = admin.post(
        "/api/v1/users?activate=true",
        json={"profile": profile(login), "credentials": {"password": {"value": PASSWORD}}},
    ).get_json()
    _require_mfa(admin, mfa["id"])
    question = admin.post(
        f"/api/v1/users/{mfa['id']}/factors",
        json={
            "factorType": "question",
            "provider": "OKTA",
            "profile": {"question": "name_of_first_plush_toy", "answer": ANSWER},
        },
    ).get_json()
    password_only = {"username": plain["profile"]["login"], "password": PASSWORD}
    assert client.post("/api/v1/authn", json=password_only).get_json()["status"] == "SUCCESS"
    started = client.post("/api/v1/authn", json={"username": login, "password": PASSWORD})
    assert started.get_json()["status"] == "MFA_REQUIRED", started.get_json()
    # What the old primary acknowledged and replicated survives; a write not
    # yet replicated is lost with it (docs/deployment.md), so wait for it.
    _wait_for("the replica to catch up", topology.replica_caught_up)
    return SignIn(app, client, password_only, started.get_json()["stateToken"], question["id"])


def _new_session_tokens(topology: Topology, before: set[str]) -> list[str]:
    """sessionToken keys on the new primary that were not there at the failover."""
    after = set(topology.replica.client.keys("sessiontoken:*"))
    return sorted(after - before)


def test_the_app_follows_a_sentinel_failover(topology: Topology, sign_in: SignIn) -> None:
    """SENTINEL FAILOVER with the old primary still up (a planned switch)."""
    before = set(topology.replica.client.keys("sessiontoken:*"))
    topology.sentinel.client.execute_command("SENTINEL", "FAILOVER", SERVICE)
    _wait_for(
        "the sentinel to name the replica",
        lambda: topology.primary_port() == topology.replica.port,
    )
    assert topology.replica.role() == "master"
    # Sentinel demotes the old primary only when it next hears from it, seconds
    # later, and until then it takes writes and will drop them: the app asks
    # the sentinels at least once a second, so it has moved on by now.
    time.sleep(SENTINEL_CHECK_EVERY)

    session_token = sign_in.carries_on()
    sign_in.signs_in()
    health = sign_in.app.test_client().get("/healthz")
    assert health.status_code == 200 and health.get_json()["checks"]["redis"] == "ok"
    # Both SUCCESS answers were written to the new primary.
    written = _new_session_tokens(topology, before)
    assert len(written) == 2, written
    assert not [k for k in written if session_token in k]  # stored hashed, not as sent


def test_the_app_heals_when_the_primary_dies(topology: Topology, sign_in: SignIn) -> None:
    """The primary killed: 503 with Retry-After while Sentinel sees it down and
    promotes the replica (down-after 1 s), then the next request goes through."""
    before = set(topology.replica.client.keys("sessiontoken:*"))
    topology.primary.process.kill()
    topology.primary.process.wait(timeout=10)
    statuses: list[int] = []

    def attempt() -> Any:
        r = sign_in.client.post("/api/v1/authn", json={"stateToken": sign_in.state_token})
        statuses.append(r.status_code)
        return r

    r = _until_it_goes_through(attempt)
    assert r.get_json()["status"] == "MFA_REQUIRED", r.get_json()
    assert statuses[0] == 503 and set(statuses) == {503, 200}, statuses
    assert topology.primary_port() == topology.replica.port
    sign_in.carries_on()
    assert sign_in.app.test_client().get("/healthz").status_code == 200
    assert len(_new_session_tokens(topology, before)) == 1


def test_a_demoted_primary_is_left_for_the_new_one(
    tmp_path: Path, processes: list[RedisProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection whose server became a replica under it: its ``READONLY``
    (here from a Lua script, as the transaction store's save is) drops the
    connection, and the one retry asks the sentinels again and writes to the
    primary. The sentinels' answers are scripted: first the replica (as if it
    had been the primary a moment ago), then the primary."""
    primary = RedisProcess(tmp_path / "primary")
    processes.append(primary)
    replica = RedisProcess(tmp_path / "replica", "--replicaof", "127.0.0.1", str(primary.port))
    processes.append(replica)
    _wait_for("the replica in sync", lambda: _in_sync(replica))
    asked: list[int] = []

    def discover_master(self: Sentinel, service: str) -> tuple[str, int]:
        # The pool's once-a-second look and the first connection: the
        # replica; every look after that: the primary.
        asked.append(replica.port if len(asked) < 2 else primary.port)
        return "127.0.0.1", asked[-1]

    monkeypatch.setattr(Sentinel, "discover_master", discover_master)
    client = connect("redis+sentinel://127.0.0.1:1/mymaster", timeout=1)
    script = client.register_script("return redis.call('SET', KEYS[1], ARGV[1])")
    # Known to the old primary, which ran it before it was demoted; not to
    # the new one (Redis does not replicate its script cache).
    replica.client.script_load(script.script)
    assert script(keys=["k"], args=["v"]) == "OK"
    assert primary.client.get("k") == "v"
    assert asked == [replica.port, replica.port, primary.port], asked
