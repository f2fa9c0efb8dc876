"""Who may write: read-only mode and the admin token, decided in one place (no Streamlit import).

The dashboard writes under the artifacts folder in two places only: Add a model
(it stages the upload under ``<artifacts>/uploads`` and imports it as a run) and
Compare's "Measure now" (it stores the measured latency in a run's run.json).
Both ask this module first, through ``dashboard.access_gate``::

    from dashboard.access import access_from_environment
    access = access_from_environment(os.environ, listen_address="0.0.0.0")
    access.writes                      # "open" | "token" | "off"
    access.may_write(entered_token)    # True only when this session may write
    access.refusal("Add a model")      # the sentence shown instead, with how to turn it on

The rules:

- ``LAB_READ_ONLY=1`` (``--read-only``, ``make serve READ_ONLY=1``): nothing is
  written; Add a model is absent from the navigation and refused at its URL.
- Listening on a loopback address (the default, 127.0.0.1): every write is open,
  as before: only people on this machine reach the server.
- Listening on any other address: writes need ``LAB_ADMIN_TOKEN``, entered in the
  sidebar and compared in constant time (``hmac.compare_digest``). Without a token
  set, writes are off and the refusal says how to set one.

``LAB_LISTEN_ADDRESS`` is the address visitors reach. ``python -m dashboard.serve``
sets it (behind its nginx the Streamlit processes themselves listen on loopback);
a server started some other way uses Streamlit's ``server.address``. Behind a
reverse proxy of your own, set it to the proxy's address (or use read-only mode).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

READ_ONLY_ENV = "LAB_READ_ONLY"
ADMIN_TOKEN_ENV = "LAB_ADMIN_TOKEN"
LISTEN_ADDRESS_ENV = "LAB_LISTEN_ADDRESS"
# A token is the only lock on a public write path: one short enough to guess is refused.
MIN_TOKEN_CHARACTERS = 16
MAKE_TOKEN = "python -c 'import secrets; print(secrets.token_urlsafe(24))'"

WRITES_OPEN, WRITES_TOKEN, WRITES_OFF = "open", "token", "off"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def parse_flag(name: str, value: str | None) -> bool:
    """``value`` of environment variable ``name`` as a yes/no; raises ``ValueError`` for anything else."""
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{name}={value!r} is neither on nor off: set it to 1 (read-only) or 0 (unset it for read-write).")


def is_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``; False for every other address, and for none.

    No address (Streamlit's ``server.address`` unset) means every interface, so it is not loopback.
    """
    text = (address or "").strip().strip("[]")
    if text.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False  # a host name other than localhost: it may resolve to anything


def check_admin_token(token: str | None) -> str | None:
    """``token`` stripped, None when unset or empty; raises ``ValueError`` when it is too short to be a lock."""
    token = (token or "").strip()
    if not token:
        return None
    if len(token) < MIN_TOKEN_CHARACTERS:
        raise ValueError(f"{ADMIN_TOKEN_ENV} has {len(token)} characters; use at least {MIN_TOKEN_CHARACTERS}, "
                         f"for example one from: {MAKE_TOKEN}")
    return token


def token_matches(given: str | None, expected: str | None) -> bool:
    """Whether ``given`` equals ``expected``, compared in constant time; never True without an ``expected``."""
    if not expected or not given:
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), expected.encode("utf-8"))


@dataclass(frozen=True)
class Access:
    """What this server lets a session write, from its settings (``access_from_environment``)."""

    read_only: bool
    listen_address: str
    admin_token: str | None = field(default=None, repr=False)  # never shown in a repr or a log
    problem: str | None = None  # a setting that could not be read, and so made the server read-only

    @property
    def public(self) -> bool:
        """True when the server listens on a non-loopback address (others on the network can reach it)."""
        return not is_loopback(self.listen_address)

    @property
    def writes(self) -> str:
        """``"off"`` (read-only, or public without a token), ``"token"`` (public with one) or ``"open"`` (loopback)."""
        if self.read_only:
            return WRITES_OFF
        if not self.public:
            return WRITES_OPEN
        return WRITES_TOKEN if self.admin_token else WRITES_OFF

    def may_write(self, given_token: str | None = None) -> bool:
        """Whether a session that entered ``given_token`` (None: none) may write under the artifacts folder."""
        if self.writes == WRITES_OPEN:
            return True
        return self.writes == WRITES_TOKEN and token_matches(given_token, self.admin_token)

    def refusal(self, what: str) -> str:
        """Why ``what`` (e.g. "Add a model") is refused here, and what turns it on."""
        if self.read_only:
            reason = f" ({self.problem})" if self.problem else ""
            return (f"{what} is not available: this dashboard is read-only{reason}, so nothing is written to its "
                    "runs. Every page still shows the runs, and Classify answers uploads without storing them. "
                    f"To add models, the operator restarts it without --read-only ({READ_ONLY_ENV} unset).")
        if self.writes == WRITES_OFF:
            return (f"{what} is off: this server listens on {self.listen_address or 'every interface'}, where "
                    f"anyone who reaches it could write to its runs, and no admin token is set. To turn it on, "
                    f"the operator sets {ADMIN_TOKEN_ENV} (at least {MIN_TOKEN_CHARACTERS} characters, e.g. from "
                    f"{MAKE_TOKEN}) and restarts the server; visitors then enter it in the sidebar. Or serve on "
                    "127.0.0.1 only.")
        if self.writes == WRITES_TOKEN:
            return (f"{what} needs the admin token on this server (it listens on {self.listen_address}). "
                    "Enter it under **Admin** in the sidebar.")
        return ""

    def sidebar_notice(self) -> str | None:
        """The sidebar's one line about access, None when everything is open (a server on this machine only)."""
        if self.read_only:
            return "Read-only dashboard: it shows the runs and Classify answers uploads; nothing is stored or changed."
        if self.writes == WRITES_OFF:
            return (f"Add a model is off: this server listens on {self.listen_address or 'every interface'} "
                    f"without {ADMIN_TOKEN_ENV}.")
        return None


def access_from_environment(environ: Mapping[str, str], listen_address: str | None = None) -> Access:
    """The ``Access`` of a server with environment ``environ`` listening on ``listen_address``.

    ``LAB_LISTEN_ADDRESS`` in ``environ`` wins over ``listen_address`` (see the module
    docstring). A setting that cannot be read fails closed: the server is read-only and
    says why (``python -m dashboard.serve`` refuses such settings before it starts).
    """
    address = (environ.get(LISTEN_ADDRESS_ENV) or listen_address or "").strip()
    try:
        read_only = parse_flag(READ_ONLY_ENV, environ.get(READ_ONLY_ENV))
        token = check_admin_token(environ.get(ADMIN_TOKEN_ENV))
    except ValueError as problem:
        return Access(read_only=True, listen_address=address, problem=str(problem))
    return Access(read_only=read_only, listen_address=address, admin_token=token)


def check_settings(environ: Mapping[str, str]) -> None:
    """Raise ``ValueError`` with the sentence to show when ``LAB_READ_ONLY`` or ``LAB_ADMIN_TOKEN`` cannot be read."""
    parse_flag(READ_ONLY_ENV, environ.get(READ_ONLY_ENV))
    check_admin_token(environ.get(ADMIN_TOKEN_ENV))
