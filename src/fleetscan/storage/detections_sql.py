"""SQL for the detections port: per-task results and the fleet-wide statistics (which count alerts)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, func, select

from ..core.alerts import AlertStatus
from ..core.models import DetectionView, Scope
from ..core.queries import DetectionFilter, Page, Statistics
from ..core.states import ACTIVE, RootStatus
from . import rows
from .base import SqlBase
from .conditions import contains, host_conditions, root_visible, scoped
from .schema import (
    alerts,
    hosts,
    root_tasks,
    subtasks,
)
from .schema import detections as detections_table


class DetectionsSql(SqlBase):
    """core.ports.DetectionStore."""

    def list_detections(self, scope: Scope, flt: DetectionFilter, page: Page) -> tuple[int, list[DetectionView]]:
        d = detections_table
        conds = scoped(scope, root_tasks, enterprise_project=hosts.c.enterprise_project_id)
        if flt.root_task_id:
            conds.append(root_tasks.c.task_id == flt.root_task_id)
        if flt.task_name:
            conds.append(contains(root_tasks.c.name, flt.task_name))
        conds += host_conditions(
            host_id=flt.host_id, name=flt.host_name, private_ip=flt.private_ip, public_ip=flt.public_ip
        )
        if flt.handle_status is not None:
            conds.append(d.c.handle_status == flt.handle_status.value)
        if flt.severities is not None:
            conds.append(d.c.severity.in_(sorted(s.value for s in flt.severities)))
        if flt.malware_name:
            conds.append(contains(d.c.malware_name, flt.malware_name))
        if flt.file_path:
            conds.append(contains(d.c.file_path, flt.file_path))
        if flt.file_hashes is not None:
            conds.append(d.c.file_hash.in_(sorted(flt.file_hashes)))
        if flt.result_ids is not None:
            conds.append(d.c.result_id.in_(sorted(flt.result_ids)))
        if flt.asset_value is not None:
            conds.append(hosts.c.asset_value == flt.asset_value)
        if flt.isolate_tags is not None:
            conds.append(d.c.isolate_tag.in_(sorted(flt.isolate_tags)))
        if flt.enterprise_project_id is not None:
            conds.append(hosts.c.enterprise_project_id == flt.enterprise_project_id)
        joined = d.join(root_tasks, root_tasks.c.id == d.c.root_id).join(hosts, hosts.c.id == d.c.host_pk)
        with self._read() as conn:
            total = conn.execute(select(func.count()).select_from(joined).where(*conds)).scalar_one()
            found = conn.execute(
                select(*d.c, *(c.label("h_" + c.name) for c in hosts.c))
                .select_from(joined)
                .where(*conds)
                .order_by(d.c.occur_time.desc(), d.c.id.desc())
                .offset(page.offset)
                .limit(page.limit)
            ).all()
            roots = self._load_roots(conn, {r.root_id for r in found})
        return int(total), [
            DetectionView(rows.detection(r._mapping), rows.host(r._mapping, "h_"), roots[r.root_id]) for r in found
        ]

    def statistics(self, scope: Scope) -> Statistics:
        visible = root_visible(scope)
        scanning: ColumnElement[bool]
        if scope.enterprise_project_ids is None:
            scanning = root_tasks.c.status.in_([RootStatus.PENDING.value, RootStatus.RUNNING.value])
        else:  # pending or running for this caller: one of its hosts has not finished (so not for all of them)
            active = [subtasks.c.status.in_(sorted(s.value for s in ACTIVE))]
            scanning = and_(
                root_tasks.c.status.in_([RootStatus.PENDING.value, RootStatus.RUNNING.value]),
                *root_visible(scope, active),
            )
        with self._read() as conn:
            malware, malware_hosts = conn.execute(  # alerts, not occurrences: one per infected file
                select(func.count(), func.count(func.distinct(alerts.c.host_pk)))
                .select_from(alerts.join(hosts, hosts.c.id == alerts.c.host_pk))
                .where(*scoped(scope, hosts), alerts.c.status == AlertStatus.OPEN.value)
            ).one()
            tasks, latest = conn.execute(select(func.count(), func.max(root_tasks.c.start_time)).where(*visible)).one()
            running = conn.execute(select(func.count()).select_from(root_tasks).where(*visible, scanning)).scalar_one()
        return Statistics(int(malware), int(malware_hosts), int(tasks), int(running), int(latest or 0))
