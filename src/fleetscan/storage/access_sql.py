"""SQL for the access port: accounts, API keys, agent and enrollment credentials, replay nonces."""

from __future__ import annotations

from time import time

from sqlalchemy import delete, insert, select

from ..core.models import AccessKey, Credential, Scope
from . import rows
from .base import SqlBase
from .schema import (
    access_keys,
    accounts,
    credentials,
    hosts,
    nonces,
)


class AccessSql(SqlBase):
    """core.ports.AccessStore."""

    def ensure_account(self, name: str) -> int:
        with self._write() as conn:
            found = conn.execute(select(accounts.c.id).where(accounts.c.name == name)).scalar()
            if found is not None:
                return int(found)
            conn.execute(self._insert_ignore(accounts).values(name=name, created_at=int(time() * 1000)))
            return int(conn.execute(select(accounts.c.id).where(accounts.c.name == name)).scalar_one())

    def find_project(self, account: str, project_id: str) -> int | None:
        """The account's id when it holds the project: an access key, a token or a host in it."""
        with self.engine.connect() as conn:
            account_id = conn.execute(select(accounts.c.id).where(accounts.c.name == account)).scalar()
            if account_id is None:
                return None
            for table in (access_keys, credentials, hosts):
                found = conn.execute(
                    select(table.c.account_id)
                    .where(table.c.account_id == account_id, table.c.project_id == project_id)
                    .limit(1)
                ).first()
                if found is not None:
                    return int(account_id)
            return None

    @staticmethod
    def _eps(scope: Scope) -> list[str] | None:
        return None if scope.enterprise_project_ids is None else sorted(scope.enterprise_project_ids)

    def add_access_key(self, key: AccessKey) -> None:
        with self._write() as conn:
            conn.execute(
                insert(access_keys).values(
                    access_key_id=key.access_key_id,
                    secret=key.secret,
                    account_id=key.scope.account_id,
                    project_id=key.scope.project_id,
                    enterprise_project_ids=self._eps(key.scope),
                    created_at=key.created_at,
                )
            )

    def get_access_key(self, access_key_id: str) -> AccessKey | None:
        with self._read() as conn:
            row = conn.execute(select(access_keys).where(access_keys.c.access_key_id == access_key_id)).first()
        return rows.access_key(row._mapping) if row else None

    def add_credential(self, kind: str, credential: Credential) -> None:
        with self._write() as conn:
            conn.execute(
                insert(credentials).values(
                    token_hash=credential.token_hash,
                    kind=kind,
                    account_id=credential.scope.account_id,
                    project_id=credential.scope.project_id,
                    enterprise_project_ids=self._eps(credential.scope),
                    enterprise_project_id=credential.enterprise_project_id,
                    group_id=credential.group_id,
                    expires_at=credential.expires_at,
                )
            )

    def get_credential(self, kind: str, token_hash: str, now: int) -> Credential | None:
        with self._read() as conn:
            row = conn.execute(
                select(credentials).where(
                    credentials.c.token_hash == token_hash, credentials.c.kind == kind, credentials.c.expires_at > now
                )
            ).first()
        return rows.credential(row._mapping) if row else None

    def remember_nonce(self, access_key_id: str, nonce: str, expires_at: int) -> bool:
        with self._write() as conn:
            if expires_at % 64 == 0:  # now and then, forget nonces whose signatures have expired anyway
                conn.execute(delete(nonces).where(nonces.c.expires_at < expires_at - 3_600_000))
            row = nonces.c
            stmt = self._insert_ignore(nonces).values(access_key_id=access_key_id, nonce=nonce, expires_at=expires_at)
            return self._inserted(conn, stmt.returning(row.nonce))
