"""AccessStore: accounts, access keys, tokens and nonces (core/ports.py)."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import delete

from fleetscan.core.ids import token_hash
from fleetscan.core.models import AccessKey, Credential, Scope
from fleetscan.core.service import ControlPlane
from fleetscan.storage import SqlStorage, open_storage
from fleetscan.storage.schema import access_keys

from .world import Clock, enrolled


def test_an_account_is_made_once(store: SqlStorage) -> None:
    first = store.ensure_account("acct")
    assert store.ensure_account("acct") == first and store.ensure_account("other") != first


def test_a_project_is_held_by_a_key_a_token_or_a_host(plane: ControlPlane, store: SqlStorage) -> None:
    assert store.find_project("acct", "p1") is None  # no such account yet
    plane.create_access_key("acct", "by-key")
    plane.create_credential("auth", "acct", "by-token")
    enrolled(plane, 1, project="by-host")
    account = store.ensure_account("acct")
    assert [store.find_project("acct", p) for p in ("by-key", "by-token", "by-host")] == [account] * 3
    assert store.find_project("acct", "nothing-here") is None
    assert store.find_project("nobody", "by-key") is None


def test_access_keys_and_credentials(plane: ControlPlane, store: SqlStorage, clock: Clock) -> None:
    key = plane.create_access_key("acct", "p1", ["e1"])
    found = store.get_access_key(key.access_key_id)
    assert found == key and found.scope.enterprise_project_ids == frozenset({"e1"})
    assert store.get_access_key("nope") is None
    token, cred = plane.create_credential("auth", "acct", "p1", ttl_seconds=10)
    assert store.get_credential("auth", token_hash(token), clock.now) == cred
    assert store.get_credential("enroll", token_hash(token), clock.now) is None  # a token is of one kind
    assert store.get_credential("auth", token_hash(token), clock.now + 11_000) is None  # expired


def test_a_nonce_is_spent_once_across_replicas(database_url: str, store: SqlStorage) -> None:
    other = open_storage(database_url, migrate=False)
    try:
        assert store.remember_nonce("k", "n1", 10**13)
        assert not other.remember_nonce("k", "n1", 10**13)
        assert other.remember_nonce("k2", "n1", 10**13)  # nonces are per key
    finally:
        other.dispose()


def test_what_is_added_reads_back_whole(store: SqlStorage) -> None:
    scope = Scope(store.ensure_account("acct"), "p1", frozenset({"e1", "e2"}))
    key = AccessKey("FSKEY", "secret", scope, 5)
    store.add_access_key(key)
    assert store.get_access_key("FSKEY") == key
    credential = Credential("c" * 64, replace(scope, enterprise_project_ids=None), 10, None, "e1")
    store.add_credential("enroll", credential)
    assert store.get_credential("enroll", "c" * 64, 9) == credential


def test_signed_requests_find_their_keys_in_the_credential_cache(store: SqlStorage, clock: Clock) -> None:
    """A key found is kept for the cache's time (a key never changes once made); an unknown one is read again."""
    plane = ControlPlane(store, clock, credential_ttl_s=60)
    assert plane.access_key("FSKEY") is None
    key = AccessKey("FSKEY", "secret", Scope(store.ensure_account("acct"), "p1"), 5)
    store.add_access_key(key)
    assert plane.access_key("FSKEY") == key  # made meanwhile, by this replica or another: found at once
    with store.engine.begin() as conn:
        conn.execute(delete(access_keys).where(access_keys.c.access_key_id == "FSKEY"))
    assert plane.access_key("FSKEY") == key  # from the cache: no database read
    assert ControlPlane(store, clock).access_key("FSKEY") is None  # commands cache nothing
