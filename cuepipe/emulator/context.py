"""Who is calling: the verified session and the partner the request runs as."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import NO_PERMISSION_ON_ENTRY, ApiError
from .ks import KsInfo

BATCH_PARTNER_ID = -1  # Partner::BATCH_PARTNER_ID: the only partner allowed to use the batch service


@dataclass(frozen=True)
class Context:
    """The request's partner and session (``kCurrentContext``)."""

    partner_id: int | None
    ks: KsInfo | None = None
    ks_string: str = ""
    host: str = "127.0.0.1"  # host[:port] the request came to, used in URLs the server writes
    scheme: str = "http"

    @property
    def is_admin(self) -> bool:
        return self.ks is not None and self.ks.is_admin

    @property
    def user(self) -> str:
        return self.ks.user if self.ks is not None else ""

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}"


def check_limit_entry(ctx: Context, entry_id: str) -> None:
    """``CuePointService::addAction``/``updateAction``: a ``limitentry`` KS writes to its entry only.

    Raises ``NO_PERMISSION_ON_ENTRY`` naming the entry written to. The server checks this in
    ``cuePoint.add`` and ``cuePoint.update`` only: ``addFromBulk`` (``kCuePointManager::addFromXml``)
    does not, and neither does the emulator there. (The server also lets a playlist limit entry
    write to the playlist's entries; the emulator has no playlists.)
    """
    limit = ctx.ks.limit_entry if ctx.ks is not None else None
    if limit and limit != entry_id:
        raise ApiError(NO_PERMISSION_ON_ENTRY, entry_id)
