"""The use cases of schedules (HSS antivirus policies, Alibaba cycle tasks), part of ControlPlane (a mixin).

What both dialects used to repeat lives here once: the hosts a schedule names must exist (those that do not are
answered, not stored), its enterprise project is that of its hosts, a client token seen before answers the
earlier schedule, a `now` policy starts its task at once, and the one step from a schedule's template to the
task it starts. The adapters only translate their parameters into a `Schedule` and its outcome back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from . import tasks
from .errors import Conflict, UnknownSchedule
from .models import Host, Origin, RootTask, Scope, StartType
from .ports import Storage
from .queries import HostFilter, Page
from .schedules import PolicyRule, Schedule, ScheduleFilter, next_fire
from .tasks import Plan, TaskRequest


@dataclass
class ScheduleMade:
    """A stored schedule, the hosts it names that do not exist, and the task a `now` policy started."""

    schedule: Schedule
    missing_host_ids: list[str] = field(default_factory=list)
    task: RootTask | None = None


def starts_now(schedule: Schedule) -> bool:
    return isinstance(schedule.rule, PolicyRule) and schedule.rule.start_type is StartType.NOW


def task_request(schedule: Schedule) -> TaskRequest:
    """The task a schedule starts: at once (`now`), once later, or each period (origin `system`)."""
    t = schedule.template
    if starts_now(schedule):
        start_type = StartType.NOW
    else:
        start_type = StartType.PERIOD if schedule.periodic else StartType.LATER
    return TaskRequest(
        name=schedule.name,
        scan_type=t.scan_type,
        host_ids=t.host_ids,
        group_ids=t.group_ids,
        targets=t.targets,
        origin=Origin.SYSTEM if schedule.periodic else Origin.USER,
        start_type=start_type,
        action=t.action,
        scan_paths=t.scan_paths,
        ignore_paths=t.ignore_paths,
        file_types=t.file_types,
        paid=t.paid,
        enterprise_project_id=schedule.enterprise_project_id,
    )


class SchedulesPlane:
    storage: Storage
    clock: Callable[[], int]
    create_task: Callable[[Scope, TaskRequest], Plan]  # ControlPlane's

    def create_schedule(self, scope: Scope, schedule: Schedule) -> ScheduleMade:
        """Store a schedule of the caller's scope, armed from now; a `now` policy also starts its task.

        A client token seen before in the project answers the earlier schedule. A schedule naming hosts needs
        one that exists; those that do not are answered in `missing_host_ids`.
        """
        if schedule.client_token:
            earlier = self.storage.find_schedule_by_client_token(scope, schedule.client_token)
            if earlier is not None:
                seen = self.storage.get_schedule(scope, ScheduleFilter(earlier.kind, schedule_id=earlier.schedule_id))
                if seen is None:
                    raise Conflict("the ClientToken was used for a schedule of another enterprise project")
                return ScheduleMade(seen)
        schedule.account_id, schedule.project_id = scope.account_id, scope.project_id
        schedule.enterprise_project_ids = scope.enterprise_project_ids
        hosts = self._checked_hosts(schedule)
        now = self.clock()
        schedule.created_at = schedule.updated_at = now
        schedule.enterprise_project_id = schedule.scope.enterprise_project_of(hosts)
        made = ScheduleMade(schedule, [h for h in schedule.template.host_ids if h not in {x.host_id for x in hosts}])
        if starts_now(schedule):
            made.task = self.create_task(scope, task_request(schedule)).root
            schedule.last_task_id, schedule.last_fired_at = made.task.task_id, made.task.created_at
        schedule.arm(now)
        made.schedule = self.storage.insert_schedule(schedule)
        return made

    def _checked_hosts(self, schedule: Schedule) -> list[Host]:
        """The hosts a schedule names (none for one of every host); refused when it names hosts and none exists."""
        if schedule.template.all_hosts:
            return []
        hosts = self.schedule_hosts(schedule)
        if not hosts:
            raise tasks.no_hosts()
        return hosts

    def get_schedule(self, scope: Scope, flt: ScheduleFilter) -> Schedule:
        found = self.storage.get_schedule(scope, flt)
        if found is None:
            raise UnknownSchedule(flt.schedule_id, flt.kind.value)
        return found

    def list_schedules(self, scope: Scope, flt: ScheduleFilter, page: Page) -> tuple[int, list[Schedule]]:
        return self.storage.list_schedules(scope, flt, page)

    def change_schedule(self, schedule: Schedule) -> Schedule:
        """Store a changed schedule (from get_schedule), re-armed from now: a re-armed `later` runs again."""
        hosts = self._checked_hosts(schedule)
        now = self.clock()
        schedule.updated_at = now
        schedule.enterprise_project_id = schedule.scope.enterprise_project_of(hosts)
        schedule.arm(now)
        self.storage.update_schedule(schedule)
        return schedule

    def delete_schedules(self, scope: Scope, flt: ScheduleFilter, schedule_ids: Sequence[str]) -> None:
        """Delete all of them or, when one is unknown, none."""
        for schedule_id in schedule_ids:
            self.get_schedule(scope, replace(flt, schedule_id=schedule_id))
        self.storage.delete_schedules(scope, flt, schedule_ids)

    def schedule_hosts(self, schedule: Schedule) -> list[Host]:
        """The hosts a schedule's next task would scan, as of now."""
        template = schedule.template
        if template.all_hosts:
            return self.storage.list_hosts(schedule.scope, HostFilter(), Page(0, 1_000_000))[1]
        return self.storage.find_hosts(schedule.scope, template.host_ids, template.group_ids)

    def fire_schedules(self, limit: int = 100) -> list[RootTask]:
        """Start the task of every schedule that is due; the root tasks this call inserted.

        Safe on every replica at once: each due time is claimed in the transaction that inserts its task.
        A schedule whose hosts are all gone is still moved on, without a task. Runs missed while no server
        was up are not replayed: a late schedule fires once, and its next run is reckoned from now.
        """
        now = self.clock()
        started = []
        for schedule in self.storage.due_schedules(now, limit):
            due = schedule.next_fire_at
            assert due is not None
            hosts = self.schedule_hosts(schedule)
            task = None
            if hosts:
                plan = tasks.plan_task(schedule.scope, task_request(schedule), hosts, now)
                task = (plan.root, plan.subtasks)
            if self.storage.fire_schedule(schedule.id, due, next_fire(schedule.rule, max(due, now)), task):
                if task is not None:
                    started.append(task[0])
        return started
