"""The use cases of server-managed signature sets, part of ControlPlane (a mixin, so service.py stays about tasks).

People add files to a named set and remove sets (`fleetscan signatures`, the console's HTTP route); each change is
a new immutable project version (core/signature_sets.py). Agents learn the newest version from `/work`, download
it once (ETag) and report the version each finding was made with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from . import signature_sets as sets
from .errors import InvalidParameter, NotFound
from .models import Host, Scope
from .ports import Storage


class SignaturesPlane:
    storage: Storage
    clock: Callable[[], int]

    def signature_version(self, scope: Scope, version: int | None = None) -> sets.SignatureVersion | None:
        """The project's version `version`, or its newest (None when it never had one); files without bytes."""
        return self.storage.get_signature_version(scope.whole_project, version)

    def add_signatures(self, scope: Scope, set_name: str, files: Sequence[tuple[str, bytes]]) -> sets.SignatureVersion:
        """A new version with `files` in the set `set_name` (same-named files replaced), checked before it is stored.

        Only the new files are loaded to check them: the others were checked when they were added.
        """
        if not files:
            raise InvalidParameter("files", "name at least one file")
        new = [sets.new_file(set_name, name, content) for name, content in files]
        sets.check_loadable(new)
        return self.storage.change_signatures(
            scope.whole_project,
            lambda current: sets.with_set(current.files if current else (), set_name, new),
            self.clock(),
        )

    def remove_signature_set(self, scope: Scope, set_name: str) -> sets.SignatureVersion:
        """A new version without the set `set_name` (NotFound when the newest version has no such set)."""

        def without(current: sets.SignatureVersion | None) -> list[sets.SignatureFile]:
            if current is None:
                raise NotFound("signature set", set_name)
            return sets.without_set(current.files, set_name)

        return self.storage.change_signatures(scope.whole_project, without, self.clock())

    def project_scope(self, account: str, project_id: str) -> Scope:
        """A whole project of an account, as the command line names it."""
        return Scope(self.storage.ensure_account(account), project_id)

    # ------------------------------------------------------------------ the agent's side
    def host_signatures(self, host: Host, version: int | None = None) -> sets.SignatureVersion | None:
        """The host's project's version `version` (its newest when None), with the files' bytes when asked for."""
        scope = Scope(host.account_id, host.project_id)
        return self.storage.get_signature_version(scope, version, content=version is not None)

    def note_host_signatures(self, host: Host, version: int | None) -> None:
        """Record the version the host's last report was scanned with, when it changed."""
        if host.signature_version != version:
            self.storage.note_host_signatures(host.id, version)
            host.signature_version = version  # a cached credential's host (ControlPlane.agents) follows

    def signature_versions_of_roots(self, root_ids: Sequence[int]) -> dict[int, list[int]]:
        return self.storage.signature_versions_of_roots(root_ids)
