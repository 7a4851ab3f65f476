"""The SQL engine, sessions and a unit of work that commits or rolls back whole."""

from __future__ import annotations

import select
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker


def normalise_url(url: str) -> str:
    """Let ``postgresql://`` URLs (what most tools print) use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(
    url: str,
    *,
    connect_timeout: int = 3,
    statement_timeout: int = 10,
    prepared_statements: bool = True,
) -> Engine:
    """The pool hands out no connection that died while pooled, so a restarted
    server heals without a restart here: on PostgreSQL, :func:`_check_out`
    pings only a connection whose socket has something to read (a server
    that closed it) or that sat idle longer than :data:`PING_IF_IDLE_SECONDS`;
    elsewhere SQLAlchemy's ``pool_pre_ping`` pings every one. On PostgreSQL
    nothing waits for ever: ``connect_timeout`` and ``statement_timeout``
    (seconds).

    Without ``prepared_statements`` psycopg never prepares a statement on the
    server: a pooler that hands each transaction another server connection
    (pgbouncer in transaction mode without ``max_prepared_statements``) would
    otherwise answer "prepared statement … does not exist" (or "already
    exists") once a query has run five times on one connection."""
    url = normalise_url(url)
    kwargs: dict[str, Any] = {"future": True, "pool_pre_ping": not url.startswith("postgresql")}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    elif url.startswith("postgresql"):
        kwargs["connect_args"] = {
            "connect_timeout": connect_timeout,
            "options": f"-c statement_timeout={statement_timeout * 1000}",
        }
        if not prepared_statements:
            kwargs["connect_args"]["prepare_threshold"] = None
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    if url.startswith("postgresql"):
        event.listen(engine, "connect", _checked_in)
        event.listen(engine, "checkin", _checked_in)
        event.listen(engine, "checkout", _check_out(engine))
    return engine


#: A pooled PostgreSQL connection idle longer than this is pinged before use:
#: a firewall or NAT that drops idle connections says nothing to either end.
PING_IF_IDLE_SECONDS = 10.0


def _checked_in(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _check_out(engine: Engine) -> Callable[[Any, Any, Any], None]:
    """The pool's check of a PostgreSQL connection before it is handed out.

    ``pool_pre_ping`` costs a round trip on every checkout. But a server that
    stops (a restart, a crash, ``pg_terminate_backend``, a pgbouncer restart)
    closes its connections, and an idle connection's socket then has
    something to read: its end, or the server's last message. A healthy idle
    connection has nothing to read, and looking costs no round trip (a
    ``poll`` with no timeout, as go-sql-driver/mysql's ``connCheck`` does).
    So: ping when the socket is readable or the connection sat idle past
    :data:`PING_IF_IDLE_SECONDS`; a failed ping makes the pool replace the
    connection (``DisconnectionError``), as ``pool_pre_ping`` would."""

    def check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle = time.monotonic() - record.info.get("idle_since", 0.0)
        if idle <= PING_IF_IDLE_SECONDS and not _readable(dbapi_connection):
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"pooled connection gone: {exc}") from exc

    return check


def _readable(dbapi_connection: Any) -> bool:
    """Whether an idle connection's socket has anything to read (or is closed)."""
    try:
        poll = select.poll()  # no FD_SETSIZE limit, unlike select.select
        poll.register(dbapi_connection.fileno(), select.POLLIN)
        return bool(poll.poll(0))  # readable, hung up or in error
    except (OSError, ValueError):  # closed here already: no descriptor
        return True


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT;
    # SQLAlchemy's documented recipe: autocommit at the driver, BEGIN ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock up front, so a concurrent writer waits
    # (busy timeout) instead of failing with "database is locked" on upgrade.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class ReadOnly(Exception):
    """A reading session was asked to write."""


def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise ReadOnly("a reading unit of work does not write; use unit_of_work()")


class DuplicateKey(Exception):
    """A unique column already holds this value (e.g. a login taken by a
    concurrent request between the check and the insert)."""


def flush_unique(session: Session) -> None:
    """Flush, turning a unique-constraint violation into :class:`DuplicateKey`."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise DuplicateKey(str(exc.orig)) from exc


class Database:
    """Owns the engine; hands out sessions that commit or roll back as one."""

    def __init__(
        self,
        url: str,
        *,
        connect_timeout: int = 3,
        statement_timeout: int = 10,
        prepared_statements: bool = True,
    ) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(
            self.url,
            connect_timeout=connect_timeout,
            statement_timeout=statement_timeout,
            prepared_statements=prepared_statements,
        )
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Readers: no transaction on PostgreSQL (each statement stands alone,
        # so no BEGIN and no COMMIT round trip), and never a write.
        self._readers = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        event.listen(self._readers, "before_flush", _refuse_flush)
        self._reads_autocommit = self.url.startswith("postgresql")

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads only: on PostgreSQL in autocommit, which spares
        the BEGIN and COMMIT round trips of a transaction. Each statement sees
        the database as it is when the statement runs, as in the READ
        COMMITTED transactions of :meth:`session` (PostgreSQL's default, kept
        here). A flush raises: nothing is written."""
        session = self._readers()
        try:
            if self._reads_autocommit:
                session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            yield session
        finally:
            session.close()

    def ping(self) -> None:
        """One round trip: ``SELECT 1`` outside a transaction on PostgreSQL
        (a transaction would add its BEGIN and ROLLBACK)."""
        with self.engine.connect() as conn:
            if self._reads_autocommit:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
