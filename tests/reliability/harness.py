"""One probe: build a baseline, change one field, send it signed, and check the answer and the database."""

from __future__ import annotations

import httpx

from tests.support.digest import Digest

from .catalogue import WRITES, Operation, readers
from .mutations import Field, Mutation, apply
from .tally import FIVE_XX, NO_ANSWER, SHAPE, STATE, STORED, Counts, Failure, shape_problem
from .wire import Call
from .world import World


class Fuzz:
    """The fuzz on one backend: its server's world, a reader of its database, and its counts."""

    def __init__(self, world: World, digest: Digest, counts: Counts) -> None:
        self.world = world
        self.digest = digest
        self.counts = counts

    def baseline(self, operation: Operation) -> Call:
        return operation.build(self.world.space(operation.name))

    def probe(self, operation: Operation, call: Call, target: Field, mutation: Mutation) -> list[Failure]:
        """Send `call` with `target` changed by `mutation`; the failures it showed (none when all is well)."""
        mutated = apply(call, target, mutation)
        before = self.digest.snapshot()
        self.counts.sent += 1
        try:
            reply = self.world.send(mutated)
        except httpx.LocalProtocolError:
            raise  # the client would not send it: a harness mistake, not the server's
        except httpx.TransportError as exc:
            self.counts.five_xx += 1
            return [self.counts.record(operation.name, target, mutation, NO_ANSWER, 0, repr(exc))]
        failures = []
        excerpt = reply.text[:200]
        if reply.status_code >= 500:
            self.counts.five_xx += 1
            failures.append(self.counts.record(operation.name, target, mutation, FIVE_XX, reply.status_code, excerpt))
        problem = shape_problem(operation.edge, reply)
        if problem is not None:
            self.counts.bad_shape += 1
            detail = f"{problem}: {excerpt}"
            failures.append(self.counts.record(operation.name, target, mutation, SHAPE, reply.status_code, detail))
        if not reply.is_success:
            changes = before.changes(self.digest.snapshot())
            if changes:
                self.counts.state_changed += 1
                detail = f"{'; '.join(changes)} | {excerpt}"
                failures.append(self.counts.record(operation.name, target, mutation, STATE, reply.status_code, detail))
        elif operation.name in WRITES:
            failures += self.read_back(operation, target, mutation, reply)
        return failures

    def read_back(
        self, operation: Operation, target: Field, mutation: Mutation, reply: httpx.Response
    ) -> list[Failure]:
        """After an accepted mutated write: every listing of the project still answers below 500.

        `/work` is the one read that writes (it dispatches pending subtasks), so a failed one must also
        have changed nothing.
        """
        space = self.world.space(operation.name)
        accepted = reply.json() if reply.content else None
        for read in readers(space, accepted):
            before = self.digest.snapshot() if read.op == "agent work" else None
            self.counts.sent += 1
            answer = self.world.send(read)
            if answer.status_code < 500:
                continue
            self.counts.five_xx += 1
            self.counts.stored += 1
            self.world.renew(operation.name)  # the project is poisoned: the next examples get a clean one
            detail = f"then {read.op} answered {answer.status_code}: {answer.text[:150]}"
            found = [self.counts.record(operation.name, target, mutation, STORED, reply.status_code, detail)]
            changes = before.changes(self.digest.snapshot()) if before is not None else []
            if changes:
                self.counts.state_changed += 1
                detail = f"then {read.op} answered {answer.status_code} and changed {'; '.join(changes)}"
                found.append(self.counts.record(operation.name, target, mutation, STATE, answer.status_code, detail))
            return found
        return []
