"""The agent's main loop: enroll once, then heartbeat, take work, scan, report, until SIGTERM.

Reports go through a durable outbox (written before sending, removed once acknowledged) and a checkpoint is
saved after each report is queued, so a SIGKILL at any point resumes from the last checkpoint: counters are
absolute values (never deltas) and the server stores a finding once, so re-sending is harmless.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engine import SignatureSet, SignatureSourceError, load_signatures, sources_stamp
from ..tls import pins
from . import paths, pinning
from .actions import Actions, Whitelist
from .central import CentralSignatures
from .client import AgentClient, ProtocolError
from .facts import host_facts
from .findings import finding_key
from .log import fields
from .quarantine import QuarantineStore
from .scanning import ScanJob, ScanSnapshot
from .state import Credential, StateDir
from .tls import IdentityRefused, ServerTrust, check_transport, is_https

log = logging.getLogger("fleetscan.agent")
GAVE_UP = "the server refused a report"
MAX_FINDINGS = 1000
"""Findings per report, the protocol's bound (docs/agent-protocol.md)."""


@dataclass
class AgentSettings:
    server: str
    state_dir: Path
    token: str | None = None
    name: str | None = None
    public_ip: str = ""
    root: str | None = None
    signatures: list[str] = field(default_factory=list)
    poll_interval: float = 10.0
    long_poll: float = 25.0
    """Seconds the server may hold GET /work while nothing is new (0: poll every `poll_interval`)."""
    report_interval: float = 3.0
    heartbeat_interval: float = 30.0
    workers: int | None = None
    bytes_per_second: float | None = None
    cpu_share: float | None = None
    clamd: str | None = None
    """clamd's socket or host:port, for the formats only libclamav opens (see docs/engine.md)."""
    insecure_http: bool = False
    """Plain HTTP to a server that is not on a loopback address (agent/tls.py refuses it otherwise)."""


class Agent:
    def __init__(self, settings: AgentSettings) -> None:
        self.settings = settings
        self.state = StateDir(settings.state_dir)
        self.stopping = threading.Event()
        self.token: str | None = None
        """The enrollment token the server knows: the given one without its pin."""
        self.pin: str | None = None
        if settings.token:
            self.token, self.pin = pins.split_token(settings.token)
        check_transport(settings.server, pinned=self.pin is not None, insecure_http=settings.insecure_http)
        held = self.state.pinned()
        trust = ServerTrust.pinned(held) if held else None
        self.client = AgentClient(settings.server, trust=trust, should_stop=self.stopping.is_set)
        self.poller: AgentClient | None = None  # the long-poll's own connection (`_poll`)
        self._sigset: SignatureSet | None = None
        self.central = CentralSignatures(self.state.root / "central", self.client)
        self.signature_version: int | None = None
        """The server's signature version in `_sigset`, reported with every finding; None: local signatures only."""
        self.actions = Actions(QuarantineStore(self.state.root / "quarantine"), self.client, settings.root)
        self.whitelist = Whitelist()
        self.abandoned: set[str] = set()
        """Subtasks whose reports the server refused for good: never scanned again by this process."""

    # ------------------------------------------------------------------ lifecycle
    def install_signal_handlers(self) -> None:
        def stop(signum: int, _frame: Any) -> None:
            log.info("stopping", extra={"fields": {"signal": signal.Signals(signum).name}})
            self.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

    def pin_server(self) -> None:
        """Pin the server's identity from the token's pin, once (agent/tls.py): an HTTPS agent sends nothing of its
        own to a server before this. A server that does not hold the pinned identity stops the agent."""
        if not is_https(self.settings.server) or self.state.pinned() is not None:
            return
        if self.pin is None:
            raise SystemExit(
                f"{self.settings.server}: no pinned server identity yet; enroll with a pinned token "
                "(fleetscan admin enroll-token --tls-cert ...)"
            )
        try:
            pem = pinning.pin(self.settings.server, self.pin, self.stopping.is_set)
        except IdentityRefused as exc:
            raise SystemExit(str(exc)) from exc
        trust = ServerTrust.pinned(pem)
        self.state.save_pinned(pem)
        self.client.pin(trust)
        log.info("server identity pinned", extra=fields(server=self.settings.server, pin=self.pin))

    def enroll(self) -> Credential:
        self.pin_server()
        credential = self.state.credential()
        if credential is None:
            if not self.token:
                raise SystemExit("not enrolled yet: --token is needed once")
            facts = host_facts(self.settings.name, self.settings.public_ip)
            reply = self.client.enroll(self.token, facts)
            credential = Credential(self.settings.server, reply["agent_id"], reply["agent_secret"], reply["host_id"])
            self.state.save_credential(credential)
            log.info("enrolled", extra={"fields": {"host_id": credential.host_id, "name": facts["name"]}})
        self.client.authenticate(credential)
        return credential

    def run(self) -> None:
        self.enroll()
        beats = threading.Thread(target=self._heartbeats, name="heartbeat", daemon=True)
        beats.start()
        self.flush_outbox()
        seen = ""
        while not self.stopping.is_set():
            long_poll = False
            try:
                reply = self._poll(seen)
                if reply is None:  # stopping while the server held the request
                    break
                long_poll, seen = bool(reply.get("long_poll")), str(reply.get("digest", ""))
                self.whitelist = Whitelist(reply.get("whitelist"))
                self.central.update(reply.get("signatures"))
                self.actions.run(reply.get("actions") or [])
                for item in reply["subtasks"]:
                    if self.stopping.is_set():
                        break
                    if item["subtask_id"] not in self.abandoned:
                        self.scan(item)
            except ProtocolError as exc:
                log.error("server refused a request", extra={"fields": {"status": exc.status, "error": str(exc)}})
            except Exception as exc:  # a transient failure: keep serving the host
                log.warning("loop error", extra={"fields": {"error": repr(exc)}})
            if not (long_poll and self.settings.long_poll > 0):  # an older server, or a failure: poll later
                self.stopping.wait(self.settings.poll_interval)
        beats.join(timeout=10)  # no beat of its may land after the goodbye
        self.say_goodbye()
        self.client.close()
        log.info("stopped")

    def _poll(self, seen: str) -> dict[str, Any] | None:
        """Ask for work; with `long_poll`, on a thread of its own, so that SIGTERM need not wait for the server to
        answer a held request: None then (the request is left to end with the process)."""
        if self.settings.long_poll <= 0:
            return self.client.poll()
        if self.poller is None:
            self.poller = AgentClient(
                self.settings.server,
                timeout=self.settings.long_poll + 30,
                trust=self.client.trust,
                should_stop=self.stopping.is_set,
            )
            self.poller.http.headers["Authorization"] = self.client.http.headers["Authorization"]
        poller = self.poller
        box: queue.Queue[tuple[dict[str, Any] | None, BaseException | None]] = queue.Queue(1)

        def ask() -> None:
            try:
                box.put((poller.poll(self.settings.long_poll, seen), None))
            except BaseException as exc:  # handed to the main loop, which logs and carries on
                box.put((None, exc))

        threading.Thread(target=ask, name="long-poll", daemon=True).start()
        while not self.stopping.is_set():
            try:
                reply, error = box.get(timeout=0.2)
            except queue.Empty:
                continue
            if error is not None:
                raise error
            return reply
        return None

    def say_goodbye(self) -> None:
        """Tell the server this host is going away (SIGTERM), so it shows offline now, not minutes later.

        One attempt: a server that is away learns it from the silence, as it would from a SIGKILL.
        """
        try:
            self.client.heartbeat(stopping=True)
        except Exception as exc:
            log.warning("goodbye not delivered", extra={"fields": {"error": repr(exc)}})

    def _heartbeats(self) -> None:
        """Beat on its own thread: a long file or a slow report must not make the host look offline."""
        beat = AgentClient(self.settings.server, trust=self.client.trust, should_stop=self.stopping.is_set)
        beat.http.headers["Authorization"] = self.client.http.headers["Authorization"]
        while not self.stopping.is_set():
            try:
                beat.heartbeat()
            except Exception as exc:
                log.warning("heartbeat failed", extra={"fields": {"error": repr(exc)}})
            self.stopping.wait(self.settings.heartbeat_interval)
        beat.close()

    # ------------------------------------------------------------------ reports
    def _queue(self, kind: str, subtask_id: str, body: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
        report = {"kind": kind, "subtask_id": subtask_id, "report_id": uuid.uuid4().hex, **body}
        return self.state.queue(self.state.next_seq(), report), report

    def _deliver(self, path: Path, report: dict[str, Any]) -> dict[str, Any] | ProtocolError:
        """Send one queued report. The server's answer, or why it refused the report for good (it is then parked).

        A transient failure (5xx, network) is retried with the same key by the client; InterruptedError means the
        agent is stopping and the report stays queued.
        """
        try:
            reply = self.client.send(report)
        except ProtocolError as exc:
            refused = exc
        except (TypeError, ValueError) as exc:  # a report that cannot even be encoded is refused by nature
            refused = ProtocolError(0, f"cannot be sent: {exc!r}")
        else:
            path.unlink(missing_ok=True)
            if reply.get("refused"):
                log.warning("findings refused", extra=fields(subtask=report["subtask_id"], refused=reply["refused"]))
            return reply
        parked = self.state.park(path, report, refused.status, str(refused))
        log.error(
            "report refused, parked",
            extra=fields(subtask=report["subtask_id"], status=refused.status, error=str(refused), parked=str(parked)),
        )
        return refused

    def _give_up(self, report: dict[str, Any], refused: ProtocolError) -> None:
        """End a subtask `failed` when the server refused its report as invalid: scanning on would be refused too.

        The ending report carries nothing but the reason; if even that is refused, it is parked like the others
        and the server's sweeper ends the subtask.
        """
        subtask_id = str(report["subtask_id"])
        self.abandoned.add(subtask_id)
        if refused.status not in (0, 400, 413, 422) or str(report.get("reason", "")).startswith(GAVE_UP):
            return  # gone, cancelled, not this agent's, or already the ending report: nothing left to send
        reason = paths.display(f"{GAVE_UP}: {refused}")[:512]
        body = {"result": "failure", "reason": reason, "files_scanned": 0, "detections": []}
        path, report = self._queue("complete", subtask_id, body)
        self._deliver(path, report)  # refused again: parked, and the server's sweeper ends the subtask

    def flush_outbox(self) -> None:
        """Deliver what the last run left queued. No entry can stop the others, nor the agent's start."""
        for path, report in self.state.pending():
            if self.stopping.is_set():
                return
            try:
                reply = self._deliver(path, report)
            except InterruptedError:
                return
            if isinstance(reply, ProtocolError):
                self._give_up(report, reply)
        log.info("outbox flushed")

    # ------------------------------------------------------------------ one subtask
    def signatures(self) -> SignatureSet:
        """The set for the next scan: loaded again when a source changed on disk (freshclam replaced a database),
        which costs a ``stat`` of each source per scan. Compiled rules are cached in the state folder.

        A first load that fails (a source missing or damaged) raises :class:`SignatureSourceError`, which fails the
        subtask with its reason; a reload that fails keeps the last good set (freshclam may be mid-update)."""
        local, cache_dir = self.settings.signatures, self.state.root / "signatures"
        held = self.central.held()
        paths = [*local, str(held.folder)] if held else list(local)
        version = held.version if held else None
        try:
            if self._sigset is None or sources_stamp(paths) != self._sigset.stamp:
                first = self._sigset is None
                self._sigset = load_signatures(paths, cache_dir=cache_dir)
                self.signature_version = version
                log.info("signatures loaded" if first else "signatures reloaded",
                         extra=fields(version=self._sigset.version, central_version=version))
        except SignatureSourceError as exc:  # e.g. caught in the middle of an update: the next scan tries again
            if self._sigset is not None:
                log.warning("signatures not reloaded", extra=fields(error=str(exc), central_version=version))
            elif held is None:
                raise
            else:  # never had a good set: the local ones alone, and every report says so (signature_version null)
                log.warning("central signatures not loaded, scanning with local signatures only",
                            extra=fields(error=str(exc), central_version=version))
                self._sigset = load_signatures(local, cache_dir=cache_dir)
                self.signature_version = None
        return self._sigset

    def scan(self, item: dict[str, Any]) -> None:
        subtask_id = item["subtask_id"]
        saved = self.state.checkpoint(subtask_id) or {}
        reported: set[str] = set(saved.get("reported", []))
        job = ScanJob(
            item,
            saved.get("snapshot"),
            signatures=self.signatures,
            root=self.settings.root,
            state_dir=str(self.state.root),
            workers=self.settings.workers,
            bytes_per_second=self.settings.bytes_per_second,
            cpu_share=self.settings.cpu_share,
            clamd=self.settings.clamd,
        )
        cancelled = threading.Event()
        log.info("scan starting", extra={"fields": {"subtask": subtask_id, "resume": bool(saved)}})

        def send(kind: str, body: dict[str, Any], resume_at: ScanSnapshot | None = None) -> bool:
            """Queue and deliver one report; False when the scan must stop (refused, cancelled or stopping).

            With `resume_at`, the checkpoint is saved once the report is queued: a restart resumes after it.
            """
            path, report = self._queue(kind, subtask_id, body)
            reported.update(finding_key(f) for f in body["detections"])
            if resume_at is not None:
                self.state.save_checkpoint(subtask_id, {"snapshot": resume_at.to_dict(), "reported": sorted(reported)})
            try:
                reply = self._deliver(path, report)
            except InterruptedError:  # stopping while the server is away: the outbox keeps the report
                return False
            if isinstance(reply, ProtocolError):
                cancelled.set()  # this scan cannot be reported: stop it, and end the subtask if it is still open
                self._give_up(report, reply)
                return False
            if reply.get("cancel"):
                cancelled.set()
                return False
            return True

        def counters(snapshot: ScanSnapshot) -> dict[str, Any]:
            return {
                "files_scanned": snapshot.files_scanned,
                "bytes_scanned": snapshot.bytes_scanned,
                "files_total": snapshot.files_total,
                "progress": snapshot.percent,
                "checkpoint": paths.display(snapshot.checkpoint or ""),
                "not_scanned": snapshot.not_scanned(),
                "signature_version": self.signature_version,
            }

        def tick(snapshot: ScanSnapshot, final: bool = False, error: str = "") -> None:
            new = [f for f in snapshot.findings if finding_key(f) not in reported and not self.whitelist.matches(f)]
            if item.get("action") == "auto":  # confirmed findings go to quarantine before they are reported
                for f in new:
                    f.setdefault("quarantine", self.actions.auto_quarantine(subtask_id, f))
            body = counters(snapshot)
            # A report carries at most MAX_FINDINGS findings (the protocol's bound): more go ahead in progress reports.
            while len(new) > MAX_FINDINGS:
                if not send("progress", {**body, "detections": new[:MAX_FINDINGS]}):
                    return
                new = new[MAX_FINDINGS:]
            body["detections"] = new
            if final:
                body.update(result="failure" if error else "success", reason=paths.display(error)[:512])
                send("complete", body)
            else:
                send("progress", body, resume_at=snapshot)

        def should_stop() -> bool:
            return self.stopping.is_set() or cancelled.is_set()

        if not saved:
            # The subtask's run time starts now, on the server's clock: a scan that ends before its first
            # progress report would otherwise have started when it ended (docs/agent-protocol.md).
            send("progress", {**counters(ScanSnapshot()), "detections": []})
        outcome = job.run(tick, should_stop, self.settings.report_interval)
        if self.stopping.is_set() and not cancelled.is_set():
            log.info("scan paused for shutdown", extra={"fields": {"subtask": subtask_id}})
            return  # the checkpoint stays; the next start resumes
        if not cancelled.is_set():
            tick(outcome.snapshot, final=True, error=outcome.error)
        self.state.drop_checkpoint(subtask_id)
        log.info(
            "scan ended",
            extra={
                "fields": {
                    "subtask": subtask_id,
                    "cancelled": cancelled.is_set(),
                    "error": outcome.error,
                    "files": outcome.snapshot.files_scanned,
                    "detections": len(outcome.snapshot.findings),
                }
            },
        )
