"""Where the KS comes from, and when to get a new one. No I/O: ``session.start`` is a request the
client sends on this module's behalf (:meth:`Auth.start_request` / :meth:`Auth.accept`).

Three sources:

* a given KS (:class:`StaticAuth`): used as is; it cannot be renewed, so an expired one surfaces as
  :class:`~cuepipe.kaltura.InvalidKSError`;
* the admin secret (:class:`SecretAuth`): a KS is built locally (:meth:`Session.generate`) and
  rebuilt shortly before it expires, or when the server calls it invalid;
* ``session.start`` with a secret (:class:`SessionStartAuth`): the server makes the KS; it is
  started again before it expires (the expiry is read from the KS when the secret can decode it,
  else estimated from the requested expiry, an upper bound).

The secrets and the KS live only in private attributes; every ``repr`` masks them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..kaltura import Context, Request, Session, SessionType, session_start
from ..kaltura.ks import DEFAULT_EXPIRY, DEFAULT_RENEW_MARGIN, Privileges
from ._errors import ConfigurationError


def _margin(expiry: int) -> float:
    # 5 minutes, but never more than a tenth of a short session's life.
    return min(float(DEFAULT_RENEW_MARGIN), expiry / 10)


class Auth:
    """Base: holds the current :class:`Session` and decides when it must be replaced."""

    kind = "none"
    can_renew = False

    def __init__(self, partner_id: int, *, client_tag: str) -> None:
        self.partner_id = partner_id
        self.client_tag = client_tag
        self.clock: Callable[[], float] = time.time
        self._session: Session | None = None
        self._invalid = False

    @property
    def session(self) -> Session | None:
        return self._session

    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in text: the KS and any secret."""
        return (self._session.ks,) if self._session is not None else ()

    def invalidate(self) -> None:
        """The server refused the KS: renew it before the next call (when renewable)."""
        self._invalid = True

    def needs_session(self) -> bool:
        if self._session is None or self._invalid:
            return True
        return self.can_renew and self._session.needs_renewal(self._renew_margin(), now=self.clock())

    def _renew_margin(self) -> float:
        return float(DEFAULT_RENEW_MARGIN)

    def refresh_locally(self) -> bool:
        """Make a new session without the network if this source can; False when a request is needed."""
        return False

    def start_request(self) -> Request:
        """The ``session.start`` request, for sources that get the KS from the server."""
        raise ConfigurationError(f"{type(self).__name__} cannot start a session on the server")

    def accept(self, ks: str) -> None:
        """Take the KS ``session.start`` returned."""
        raise ConfigurationError(f"{type(self).__name__} cannot start a session on the server")

    def context(self) -> Context:
        if self._session is None:
            raise ConfigurationError("no session yet")
        return Context(partner_id=self.partner_id, ks=self._session.ks, client_tag=self.client_tag)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} partner_id={self.partner_id} session={self._session!r}>"


class StaticAuth(Auth):
    """A KS given by the caller."""

    kind = "ks"

    def __init__(self, ks: str, partner_id: int | None, *, client_tag: str) -> None:
        if not isinstance(ks, str) or not ks.strip():
            raise ConfigurationError("ks must be a non-empty string")
        session = Session.from_ks(ks.strip())
        if partner_id is not None and partner_id != session.partner_id:
            raise ConfigurationError(f"the KS belongs to partner {session.partner_id}, not to partner_id={partner_id}")
        super().__init__(session.partner_id, client_tag=client_tag)
        self._session = session

    def needs_session(self) -> bool:
        return False


class _SecretAuth(Auth):
    """Shared by the two ways of making a KS from a secret: both can renew it before it expires."""

    can_renew = True
    secret_name = "secret"

    def __init__(
        self,
        partner_id: int,
        secret: str,
        *,
        client_tag: str,
        user_id: str = "",
        type: SessionType | int = SessionType.ADMIN,
        expiry: int = DEFAULT_EXPIRY,
        privileges: Privileges = None,
    ) -> None:
        if not isinstance(secret, str) or not secret:
            raise ConfigurationError(f"{self.secret_name} must be a non-empty string")
        super().__init__(partner_id, client_tag=client_tag)
        self._secret = secret
        self._user_id = user_id
        self._type = type
        self._expiry = expiry
        self._privileges = privileges

    def secrets(self) -> tuple[str, ...]:
        return (*super().secrets(), self._secret)

    def _renew_margin(self) -> float:
        return _margin(self._expiry)


class SecretAuth(_SecretAuth):
    """KS built locally from the admin secret (no round trip), renewed before it expires."""

    kind = "admin_secret"
    secret_name = "admin_secret"

    def refresh_locally(self) -> bool:
        self._session = Session.generate(
            self.partner_id,
            self._secret,
            user_id=self._user_id,
            type=self._type,
            expiry=self._expiry,
            privileges=self._privileges,
            now=self.clock(),
        )
        self._invalid = False
        return True


class SessionStartAuth(_SecretAuth):
    """KS from ``session.start(secret, ...)``; started again before it expires."""

    kind = "session_start"

    def start_request(self) -> Request:
        ctx = Context(partner_id=self.partner_id, client_tag=self.client_tag)
        return session_start(
            ctx, self._secret, user_id=self._user_id, type=self._type, expiry=self._expiry, privileges=self._privileges
        )

    def accept(self, ks: str) -> None:
        self._session = Session.from_session_start(
            ks,
            partner_id=self.partner_id,
            expiry=self._expiry,
            user_id=self._user_id,
            type=self._type,
            privileges=self._privileges,
            secret=self._secret,
            now=self.clock(),
        )
        self._invalid = False


def make_auth(
    *,
    ks: str | None,
    partner_id: int | None,
    admin_secret: str | None,
    secret: str | None,
    use_session_start: bool,
    client_tag: str,
    user_id: str,
    session_type: SessionType | int,
    session_expiry: int,
    privileges: Privileges,
) -> Auth:
    """Pick the KS source from the constructor arguments, refusing ambiguous combinations."""
    if partner_id is not None and (isinstance(partner_id, bool) or not isinstance(partner_id, int)):
        raise ConfigurationError(f"partner_id must be an int, got {type(partner_id).__name__}")
    if isinstance(session_expiry, bool) or not isinstance(session_expiry, int) or session_expiry <= 0:
        raise ConfigurationError("session_expiry must be a positive number of seconds")
    if ks is not None:
        if admin_secret is not None or secret is not None or use_session_start:
            raise ConfigurationError("give either ks= or a secret, not both")
        return StaticAuth(ks, partner_id, client_tag=client_tag)
    if partner_id is None:
        raise ConfigurationError("partner_id is required with a secret (or pass ks=)")
    if use_session_start:
        if admin_secret is not None and secret is not None:
            raise ConfigurationError("give secret= or admin_secret=, not both")
        chosen = secret if secret is not None else admin_secret
        if chosen is None:
            raise ConfigurationError("use_session_start=True needs secret=")
        return SessionStartAuth(
            partner_id,
            chosen,
            client_tag=client_tag,
            user_id=user_id,
            type=session_type,
            expiry=session_expiry,
            privileges=privileges,
        )
    if secret is not None:
        raise ConfigurationError(
            "secret= is sent to session.start: pass use_session_start=True, or admin_secret= to build the KS locally"
        )
    if admin_secret is None:
        raise ConfigurationError("credentials missing: pass ks=, or partner_id= with admin_secret=")
    return SecretAuth(
        partner_id,
        admin_secret,
        client_tag=client_tag,
        user_id=user_id,
        type=session_type,
        expiry=session_expiry,
        privileges=privileges,
    )
