"""What the baselines stand on: per operation a project of its own, its hosts, tasks, detections, quarantines.

Each operation gets its own project (an access key and an enrollment token made in-process on the server's
database, as `fleetscan admin` makes them, but without a process start each). So a value one operation
accepted and stored cannot make another operation's baseline fail, and each failure is the operation's own.

Everything else is made over HTTP, the way a client and an agent make it: tasks through HSS, detections and
quarantines through the agent protocol. A setup step that fails stops the test: the harness never fuzzes
a baseline it could not build.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from fleetscan.core.service import ControlPlane
from fleetscan.storage.sql import open_storage
from tests.support.agent_protocol import ProtocolAgent, finding
from tests.support.server import ServerProcess

from .wire import Call, Credentials, Json, build

GROUP = "fuzz-group"


class SetupFailed(AssertionError):
    pass


def expect_ok(reply: httpx.Response, what: str) -> Any:
    if not 200 <= reply.status_code < 300:
        raise SetupFailed(f"setup step {what}: {reply.status_code} {reply.text[:300]}")
    return reply.json() if reply.content else {}


class World:
    """One server (its own database) for the whole fuzz on one backend."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.plane = ControlPlane(open_storage(server.database_url, migrate=False))
        # No keep-alive: a request that breaks its connection must not fail the next one for another reason.
        self.http = httpx.Client(timeout=120, limits=httpx.Limits(max_keepalive_connections=0))
        self.spaces: dict[str, Space] = {}

    def send(self, call: Call) -> httpx.Response:
        return self.http.send(build(call, self.server.url, self.server.endpoint))

    def space(self, op: str) -> Space:
        if op not in self.spaces:
            account = "fuzz-" + uuid.uuid4().hex[:10]
            project = uuid.uuid4().hex
            key = self.plane.create_access_key(account, project)
            token, _ = self.plane.create_credential("enroll", account, project, group=GROUP)
            self.spaces[op] = Space(self, Credentials(key.access_key_id, key.secret, project), token)
        return self.spaces[op]

    def renew(self, op: str) -> None:
        """Give the operation a fresh project from its next example on."""
        space = self.spaces.pop(op, None)
        for agent in space.agents.values() if space else ():
            agent.http.close()

    def close(self) -> None:
        self.http.close()
        for space in self.spaces.values():
            for agent in space.agents.values():
                agent.http.close()


@dataclass
class Space:
    """One project: its key, its enrollment token, its agents, and what was made in it so far."""

    world: World
    key: Credentials
    enroll_token: str
    agents: dict[str, ProtocolAgent] = field(default_factory=dict)
    made: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ plumbing
    def agent(self, name: str = "h1") -> ProtocolAgent:
        if name not in self.agents:
            url = self.world.server.url
            self.agents[name] = ProtocolAgent(url, self.enroll_token, name, private_ip="10.0.0.7", public_ip="1.2.3.4")
        return self.agents[name]

    def agent_key(self, name: str = "h1") -> Credentials:
        agent = self.agent(name)
        scheme, _, credential = str(agent.http.headers["Authorization"]).partition(" ")
        agent_id, _, secret = credential.partition(":")
        return Credentials(agent_id, secret)

    def hss(self, method: str, path: str, query: list[tuple[str, Any]] | None = None, body: Any = None) -> Any:
        call = Call("hss", "setup", method, "/v5/{project_id}" + path, self.key, {"project_id": self.key.project_id})
        call.query, call.body = list(query or []), body
        return expect_ok(self.world.send(call), f"HSS {method} {path}")

    def ali(self, action: str, **params: Any) -> Any:
        call = Call("alibaba", "setup", "POST", "/", self.key, action=action, query=list(params.items()))
        return expect_ok(self.world.send(call), f"Alibaba {action}")

    def once(self, name: str, make: Any) -> Any:
        """What `make` returns, made once per project."""
        if name not in self.made:
            self.made[name] = make()
        return self.made[name]

    # ------------------------------------------------------------------ tasks
    def task(self, host: str = "h1", action: str = "manual") -> str:
        body: dict[str, Any] = {"task_name": "fuzz-" + uuid.uuid4().hex[:8], "scan_type": "quick"}
        body |= {"action": action, "host_ids": [self.agent(host).host_id]}
        return str(self.hss("POST", "/antivirus/task", body=body)["task_id"])

    def subtask(self, host: str = "h1", action: str = "manual") -> tuple[str, str]:
        """A new task on the host, taken by its agent: (task_id, subtask_id)."""
        task_id = self.task(host, action)
        for item in self.agent(host).work():
            if item["task_id"] == task_id:
                return task_id, str(item["subtask_id"])
        raise SetupFailed(f"task {task_id} is not in the agent's work")

    def finished_task(self) -> str:
        def make() -> str:
            task_id, subtask_id = self.subtask()
            expect_ok(self.agent().complete(subtask_id), "complete")
            return task_id

        return str(self.once("finished_task", make))

    def running(self) -> tuple[str, str]:
        """A subtask that stays running, to carry detections."""
        task_id, subtask_id = self.once("running", self.subtask)
        return str(task_id), str(subtask_id)

    def detection(self) -> tuple[str, dict[str, Any]]:
        """A new unhandled detection on h1: (result_id, its finding)."""
        _, subtask_id = self.running()
        found = finding(f"/srv/fuzz/{uuid.uuid4().hex}.com")
        expect_ok(self.agent().progress(subtask_id, detections=[found]), "progress")
        listed = self.hss("GET", "/antivirus/result", [("limit", "10"), ("file_path", found["file_path"])])
        rows = listed["data_list"]
        if len(rows) != 1:
            raise SetupFailed(f"the detection of {found['file_path']} is listed {len(rows)} times")
        return str(rows[0]["result_id"]), found

    def pending_action(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """A quarantine the agent has been asked for and not answered: (action, finding)."""
        result_id, found = self.detection()
        operate = {"operate_type": "manual_isolate_and_kill", "operate_results": [{"result_id": result_id}]}
        self.hss("POST", "/antivirus/result/operate", body=operate)
        reply = expect_ok(self.agent().http.get("/agent/v1/work"), "work")
        for action in reply["actions"]:
            if action["file_path"] == found["file_path"]:
                return action, found
        raise SetupFailed("the quarantine is not in the agent's work")

    def isolated(self) -> dict[str, Any]:
        """A finding whose file the agent has quarantined."""
        action, found = self.pending_action()
        result = {"ok": True, "quarantine": quarantine_facts(action["quarantine_id"], found)}
        expect_ok(self.agent().http.post(f"/agent/v1/actions/{action['action_id']}/result", json=result), "action")
        return found

    def quarantined_id(self) -> int:
        found = self.isolated()
        listed = self.ali("DescribeSuspEventQuaraFiles", Status="quaraDone", PageSize="100")
        for row in listed["QuaraFiles"]:
            if row["Path"] == found["file_path"]:
                return int(row["Id"])
        raise SetupFailed("the quarantined file is not listed")

    # ------------------------------------------------------------------ schedules
    def policy(self) -> str:
        return str(self.hss("POST", "/antivirus/policy", body=policy_body(self.agent().host_id))["policy_id"])

    def cycle(self) -> str:
        params = cycle_params(self.agent().host_id)
        params["ClientToken"] = uuid.uuid4().hex
        return str(self.ali("CreateCycleTask", **dict(params))["ConfigId"])

    def ali_task(self) -> int:
        def make() -> int:
            target = Json([{"type": "uuid", "name": "h1", "target": self.agent().host_id}])
            return int(self.ali("StartVirusScanTask", TargetInfo=target)["ScanTaskId"])

        return int(self.once("ali_task", make))


# ------------------------------------------------------------------ bodies shared by setup and baselines
DAY_MS = 86_400_000


def now_ms() -> int:
    return int(time.time() * 1000)


def quarantine_facts(quarantine_id: str, found: dict[str, Any]) -> dict[str, Any]:
    return {
        "quarantine_id": quarantine_id,
        "sha256": found["file_hash"],
        "size": found["file_size"],
        "uid": 0,
        "gid": 0,
        "mode": 0o644,
        "mtime": 1_700_000_000_000,
    }


def policy_body(host_id: str) -> dict[str, Any]:
    """A `later` policy a month ahead: no scheduler pass can start it while the fuzz runs."""
    return {
        "policy_name": "fuzz-" + uuid.uuid4().hex[:8],
        "start_type": "later",
        "scan_time": now_ms() + 30 * DAY_MS,
        "scan_period": "week",
        "scan_period_date": 3,
        "scan_hour": 3,
        "scan_minute": 30,
        "timezone_offset": 480,
        "scan_type": "custom",
        "action": "manual",
        "host_ids": [host_id],
        "scan_dir": "/srv;/opt",
        "ignore_dir": "/srv/tmp",
        "file_types": [0],
        "whether_paid_task": False,
    }


def cycle_params(host_id: str) -> dict[str, Any]:
    """An Alibaba cycle task whose first run is a month ahead."""
    return {
        "TaskName": "fuzz-" + uuid.uuid4().hex[:8],
        "TaskType": "VIRUS_VUL_SCHEDULE_SCAN",
        "Enable": "1",
        "FirstDateStr": str(now_ms() + 30 * DAY_MS),
        "PeriodUnit": "day",
        "IntervalPeriod": "7",
        "TargetStartTime": "0",
        "TargetEndTime": "23",
        "Param": Json(
            {
                "targetInfo": [{"type": "uuid", "name": "h1", "target": host_id}],
                "scanType": "user",
                "scanPath": ["/srv"],
            }
        ),
        "Source": "fuzz",
    }
