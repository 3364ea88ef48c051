"""Construction, settings and argument checking shared by :class:`Client` and :class:`AsyncClient`."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import pandas as pd

from ..kaltura import Session, SessionType, cue_point_delete, cue_point_get
from ..kaltura.actions import CuePointService
from ..kaltura.errors import KalturaNotFoundError, KSError
from ..kaltura.ks import DEFAULT_EXPIRY, Privileges
from ..kaltura.request import DEFAULT_CLIENT_TAG
from ._auth import make_auth
from ._base import (
    AUTO_CONCURRENCY,
    Call,
    Engine,
    Op,
    Retries,
    check_concurrency,
    cue_point_service,
    normalize_service_url,
)
from ._errors import ConfigurationError
from ._pull import PullSpec, coerce_filter, count_op, make_spec, ms_record, to_frame

ENV_SERVICE_URL = "KALTURA_SERVICE_URL"
ENV_PARTNER_ID = "KALTURA_PARTNER_ID"
ENV_ADMIN_SECRET = "KALTURA_ADMIN_SECRET"
ENV_KS = "KALTURA_KS"


_CREDENTIALS = ("ks", "admin_secret", "secret")


def settings_from_env(
    environ: Mapping[str, str] | None = None, *, labels: Mapping[str, str] | None = None, **overrides: Any
) -> dict[str, Any]:
    """Constructor arguments from ``KALTURA_*`` variables; ``overrides`` that are not None win.

    Credentials come from the overrides when any is given, else from ``KALTURA_KS`` or
    ``KALTURA_ADMIN_SECRET`` (setting both is refused: which one was meant is a guess). Every
    missing or malformed setting raises :class:`ConfigurationError` naming the variable to set, so
    a job that runs without its environment says what is wrong instead of failing later (or with a
    ``TypeError`` about a missing argument). Values of secret variables never appear in messages.
    ``labels`` renames variables in those messages (the CLI names its options there).
    """
    env = os.environ if environ is None else environ
    names = dict(labels or {})

    def name(variable: str) -> str:
        return names.get(variable, variable)

    given = {k: v for k, v in overrides.items() if v is not None}
    out: dict[str, Any] = {}
    if "service_url" not in given:
        url = env.get(ENV_SERVICE_URL, "")
        if not url.strip():
            raise ConfigurationError(
                f"{name(ENV_SERVICE_URL)} is {'empty' if ENV_SERVICE_URL in env else 'not set'}: "
                "set it to the Kaltura service URL, e.g. https://www.kaltura.com"
            )
        try:
            out["service_url"] = normalize_service_url(url)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{name(ENV_SERVICE_URL)}: {exc}") from None
    if "partner_id" not in given and env.get(ENV_PARTNER_ID, "").strip():
        raw = env[ENV_PARTNER_ID].strip()
        try:
            out["partner_id"] = int(raw)
        except ValueError:
            raise ConfigurationError(f"{name(ENV_PARTNER_ID)} must be an integer partner id, got {raw!r}") from None
    if not any(k in given for k in _CREDENTIALS):
        ks, secret = env.get(ENV_KS, "").strip(), env.get(ENV_ADMIN_SECRET, "").strip()
        if ks and secret:
            raise ConfigurationError(f"both {name(ENV_KS)} and {name(ENV_ADMIN_SECRET)} are set: give only one")
        if ks:
            try:
                session = Session.from_ks(ks)
            except KSError as exc:
                raise ConfigurationError(f"{name(ENV_KS)} is not a usable KS: {exc}") from None
            pid = given.get("partner_id", out.get("partner_id"))
            if pid is not None and pid != session.partner_id:
                source = name(ENV_PARTNER_ID) if "partner_id" in out else "partner_id="
                raise ConfigurationError(
                    f"{name(ENV_KS)} belongs to partner {session.partner_id}, but {source} is {pid}"
                )
            out["ks"] = ks
        elif secret:
            if "partner_id" not in out and "partner_id" not in given:
                raise ConfigurationError(
                    f"{name(ENV_PARTNER_ID)} is not set: a KS made from {name(ENV_ADMIN_SECRET)} needs the partner id"
                )
            out["admin_secret"] = secret
        else:
            raise ConfigurationError(
                f"credentials are missing: set {name(ENV_KS)}, or {name(ENV_PARTNER_ID)} and {name(ENV_ADMIN_SECRET)}"
            )
    out.update(given)
    return out


class ClientBase:
    """Everything but the I/O; see :class:`~cuepipe.client.Client` for the arguments."""

    def __init__(
        self,
        service_url: str,
        *,
        ks: str | None = None,
        partner_id: int | None = None,
        admin_secret: str | None = None,
        secret: str | None = None,
        use_session_start: bool = False,
        user_id: str = "",
        session_type: SessionType | int = SessionType.ADMIN,
        session_expiry: int = DEFAULT_EXPIRY,
        privileges: Privileges = None,
        retries: int | Retries = 3,
        client_tag: str = DEFAULT_CLIENT_TAG,
        concurrency: int | Literal["auto"] = "auto",
    ) -> None:
        url = normalize_service_url(service_url)
        auth = make_auth(
            ks=ks,
            partner_id=partner_id,
            admin_secret=admin_secret,
            secret=secret,
            use_session_start=use_session_start,
            client_tag=client_tag,
            user_id=user_id,
            session_type=session_type,
            session_expiry=session_expiry,
            privileges=privileges,
        )
        if isinstance(retries, bool) or not isinstance(retries, int | Retries):
            raise ConfigurationError("retries must be an int or a Retries")
        policy = retries if isinstance(retries, Retries) else Retries(max_retries=max(0, retries))
        self._engine = Engine(url, auth, policy)
        #: requests one push or pull keeps in flight (``concurrency=``, checked here)
        self._concurrency = check_concurrency(concurrency)

    @property
    def service_url(self) -> str:
        return self._engine.service_url

    @property
    def partner_id(self) -> int:
        return self._engine.auth.partner_id

    @property
    def session(self) -> Session | None:
        """The current session (its ``repr`` masks the KS); None before the first call with ``session.start``."""
        return self._engine.auth.session

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} service_url={self.service_url!r} partner_id={self.partner_id} "
            f"auth={self._engine.auth.kind!r}>"
        )

    # -- argument checking: done when the method is called, before any request ------------------

    def _pull_spec(
        self, flt: Any, service: str, precision: str, page_size: int, unservable: str, extra_columns: bool
    ) -> PullSpec:
        return make_spec(
            flt,
            service=cue_point_service(service),
            precision=precision,
            page_size=page_size,
            unservable=unservable,
            extra_columns=extra_columns,
            concurrency=self._concurrency or AUTO_CONCURRENCY,
        )

    def _count_op(self, flt: Any, service: str) -> Op:
        wire = cue_point_service(service)
        return count_op(coerce_filter(flt, wire), wire)  # the server counts without a filter too

    @staticmethod
    def _get_op(cue_point_id: str, service: str) -> Op:
        wire: CuePointService = cue_point_service(service)

        def op() -> Op:
            obj = yield Call(
                build=lambda ctx: cue_point_get(ctx, cue_point_id, service=wire),
                what=f"{wire}.get",
            )
            return obj if not isinstance(obj, Mapping) else ms_record(obj, {})

        return op()

    @staticmethod
    def _delete_op(ids: str | Iterable[str], service: str, missing_ok: bool) -> Op:
        wire: CuePointService = cue_point_service(service)
        todo = [ids] if isinstance(ids, str) else list(ids)
        for item in todo:
            if not isinstance(item, str) or not item:
                raise TypeError(f"cue point ids are non-empty strings, got {item!r}")

        def op() -> Op:
            deleted: list[str] = []
            for cue_point_id in todo:
                try:
                    yield Call(
                        build=functools.partial(cue_point_delete, id=cue_point_id, service=wire),
                        write=True,
                        replay_safe=True,
                        what=f"{wire}.delete({cue_point_id})",
                    )
                except KalturaNotFoundError:
                    if not missing_ok:
                        raise
                    continue
                deleted.append(cue_point_id)
            return deleted

        return op()

    @staticmethod
    def _concat(pages: list[pd.DataFrame]) -> pd.DataFrame:
        if not pages:
            return to_frame([], False)
        return pages[0] if len(pages) == 1 else pd.concat(pages, ignore_index=True)
