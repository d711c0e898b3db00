"""SQL for the signature sets the server manages (core/signature_sets.py): the part of SqlStorage that writes and
reads versions. A mixin of SqlStorage, kept apart so each file has one job.

A new version is numbered one past the project's newest in the transaction that writes it; two writers racing for
one number meet the unique constraint, and the loser is a Conflict (nothing written), never a lost change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..core.errors import Conflict
from ..core.models import Scope
from ..core.signature_sets import SignatureFile, SignatureVersion, version_digest
from .base import SqlBase
from .schema import detections, hosts, signature_blobs, signature_files, signature_versions

SignaturesChange = Callable[[SignatureVersion | None], Sequence[SignatureFile]]


def _version(row: Any, files: Sequence[SignatureFile]) -> SignatureVersion:
    m = row._mapping
    return SignatureVersion(
        m["account_id"], m["project_id"], m["version"], m["digest"], m["created_at"], tuple(files), m["id"]
    )


class SignaturesSql(SqlBase):
    """core.ports.SignatureStore."""

    @staticmethod
    def _newest(conn: Connection, scope: Scope, version: int | None) -> Any:
        v = signature_versions.c
        stmt = select(signature_versions).where(v.account_id == scope.account_id, v.project_id == scope.project_id)
        stmt = stmt.where(v.version == version) if version is not None else stmt.order_by(v.version.desc()).limit(1)
        return conn.execute(stmt).first()

    @staticmethod
    def _files(conn: Connection, version_pk: int, content: bool) -> list[SignatureFile]:
        f = signature_files.c
        columns = [f.set_name, f.name, f.kind, f.sha256, f.size]
        stmt = select(*columns, *([signature_blobs.c.content] if content else []))
        if content:
            stmt = stmt.select_from(signature_files.join(signature_blobs, signature_blobs.c.sha256 == f.sha256))
        found = conn.execute(stmt.where(f.version_pk == version_pk).order_by(f.set_name, f.name))
        return [SignatureFile(r[0], r[1], r[2], r[3], r[4], bytes(r[5]) if content else None) for r in found]

    def get_signature_version(
        self, scope: Scope, version: int | None = None, *, content: bool = False
    ) -> SignatureVersion | None:
        with self._read() as conn:
            row = self._newest(conn, scope, version)
            return _version(row, self._files(conn, row.id, content)) if row else None

    def change_signatures(self, scope: Scope, change: SignaturesChange, now: int) -> SignatureVersion:
        try:
            with self._write() as conn:
                row = self._newest(conn, scope, None)
                current = _version(row, self._files(conn, row.id, True)) if row else None
                files = list(change(current))
                number = (current.version if current else 0) + 1
                digest = version_digest(files)
                pk = conn.execute(
                    insert(signature_versions)
                    .values(
                        account_id=scope.account_id,
                        project_id=scope.project_id,
                        version=number,
                        digest=digest,
                        created_at=now,
                    )
                    .returning(signature_versions.c.id)
                ).scalar_one()
                for f in files:
                    assert f.content is not None
                    conn.execute(self._insert_ignore(signature_blobs).values(sha256=f.sha256, content=f.content))
                if files:
                    conn.execute(
                        insert(signature_files),
                        [
                            {"version_pk": pk, "set_name": f.set_name, "name": f.name, "kind": f.kind,
                             "sha256": f.sha256, "size": f.size}
                            for f in files
                        ],
                    )
        except IntegrityError as exc:
            raise Conflict("the signature sets changed meanwhile: try again") from exc
        return SignatureVersion(scope.account_id, scope.project_id, number, digest, now, tuple(files), int(pk))

    def note_host_signatures(self, host_pk: int, version: int | None) -> None:
        with self._write() as conn:
            conn.execute(update(hosts).where(hosts.c.id == host_pk).values(signature_version=version))

    def signature_versions_of_roots(self, root_ids: Sequence[int]) -> dict[int, list[int]]:
        """The signature versions each root task's detections were found with (local-only findings left out)."""
        out: dict[int, list[int]] = {r: [] for r in root_ids}
        if not root_ids:
            return out
        with self._read() as conn:
            found = conn.execute(
                select(detections.c.root_id, detections.c.signature_version)
                .where(detections.c.root_id.in_(sorted(set(root_ids))), detections.c.signature_version.is_not(None))
                .group_by(detections.c.root_id, detections.c.signature_version)
                .order_by(detections.c.root_id, detections.c.signature_version)
            )
            for root_id, version in found:
                out[root_id].append(int(version))
        return out
