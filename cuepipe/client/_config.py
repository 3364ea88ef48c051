"""Construction, settings and argument checking shared by :class:`Client` and :class:`AsyncClient`."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from ..kaltura import Session, SessionType, cue_point_delete, cue_point_get
from ..kaltura.errors import KalturaNotFoundError
from ..kaltura.ks import DEFAULT_EXPIRY, Privileges
from ..kaltura.request import DEFAULT_CLIENT_TAG
from ._auth import make_auth
from ._base import Call, Engine, Op, Retries, cue_point_service, normalize_service_url
from ._errors import ConfigurationError
from ._pull import PullSpec, coerce_filter, count_op, make_spec, ms_record, to_frame

ENV_SERVICE_URL = "KALTURA_SERVICE_URL"
ENV_PARTNER_ID = "KALTURA_PARTNER_ID"
ENV_ADMIN_SECRET = "KALTURA_ADMIN_SECRET"
ENV_KS = "KALTURA_KS"


def settings_from_env(environ: Mapping[str, str] | None = None, **overrides: Any) -> dict[str, Any]:
    """Constructor arguments from ``KALTURA_*`` variables; ``overrides`` that are not None win.

    Credentials come from the overrides when any is given, else ``KALTURA_KS``, else
    ``KALTURA_ADMIN_SECRET`` (a KS is the more specific choice when both are set).
    """
    env = os.environ if environ is None else environ
    given = {k: v for k, v in overrides.items() if v is not None}
    out: dict[str, Any] = {}
    if env.get(ENV_SERVICE_URL):
        out["service_url"] = env[ENV_SERVICE_URL]
    if env.get(ENV_PARTNER_ID):
        try:
            out["partner_id"] = int(env[ENV_PARTNER_ID])
        except ValueError:
            raise ConfigurationError(f"{ENV_PARTNER_ID} must be an integer") from None
    if not any(k in given for k in ("ks", "admin_secret", "secret")):
        if env.get(ENV_KS):
            out["ks"] = env[ENV_KS]
        elif env.get(ENV_ADMIN_SECRET):
            out["admin_secret"] = env[ENV_ADMIN_SECRET]
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
        )

    def _count_op(self, flt: Any, service: str) -> Op:
        wire = cue_point_service(service)
        return count_op(coerce_filter(flt, wire), wire)  # the server counts without a filter too

    @staticmethod
    def _get_op(cue_point_id: str, service: str) -> Op:
        wire = cue_point_service(service)

        def op() -> Op:
            obj = yield Call(
                build=lambda ctx: cue_point_get(ctx, cue_point_id, service=wire),  # type: ignore[arg-type]
                what=f"{wire}.get",
            )
            return obj if not isinstance(obj, Mapping) else ms_record(obj, {})

        return op()

    @staticmethod
    def _delete_op(ids: str | Iterable[str], service: str, missing_ok: bool) -> Op:
        wire = cue_point_service(service)
        todo = [ids] if isinstance(ids, str) else list(ids)
        for item in todo:
            if not isinstance(item, str) or not item:
                raise TypeError(f"cue point ids are non-empty strings, got {item!r}")

        def op() -> Op:
            deleted: list[str] = []
            for cue_point_id in todo:
                try:
                    yield Call(
                        build=lambda ctx, i=cue_point_id: cue_point_delete(ctx, i, service=wire),  # type: ignore[arg-type]
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
