"""Real servers for the integration tests: a single-node Kafka broker and redis-server.

Nothing here is a mock. :class:`KafkaBroker` runs Apache Kafka (KRaft mode, combined
broker + controller) from the jars that ``tests/infra/setup.sh`` fetches into
``tests/infra/target/lib``; :class:`RedisServer` runs the Debian ``redis-server`` binary.
Both listen on free loopback ports, keep their data and logs in a private temporary
directory, and are stopped (SIGTERM, then SIGKILL) when their context exits, at
interpreter exit, and -- on Linux -- by the kernel if the Python process dies first.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

__all__ = [
    "KAFKA_LIB_DIR",
    "SETUP_HINT",
    "KafkaBroker",
    "RedisServer",
    "ServerError",
    "ServerMissingError",
    "free_port",
    "kafka_jars_present",
    "redis_server_binary",
]

INFRA_DIR = Path(__file__).resolve().parent / "infra"
KAFKA_LIB_DIR = Path(os.environ.get("DISTILLGUARD_KAFKA_LIB", INFRA_DIR / "target" / "lib"))
"""Where ``tests/infra/setup.sh`` puts the Kafka broker jars (override: DISTILLGUARD_KAFKA_LIB)."""

SETUP_HINT = "run `bash tests/infra/setup.sh` (as root, or with sudo) to install them"
"""What to tell a developer whose machine lacks the server binaries or jars."""

_LOG_TAIL_LINES = 60


class ServerError(RuntimeError):
    """A test server failed to start or stop; the message carries the tail of its log."""


class ServerMissingError(ServerError):
    """A server's binary or jars are not installed on this machine."""


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def kafka_jars_present(lib_dir: Path = KAFKA_LIB_DIR) -> bool:
    """Tell whether the Kafka broker jars are in ``lib_dir`` (setup.sh moves them in whole)."""
    return any(lib_dir.glob("kafka_2.13-*.jar"))


def redis_server_binary() -> str | None:
    """Return the path of ``redis-server`` (PATH, then /usr/bin and /usr/sbin), or None."""
    found = shutil.which("redis-server")
    if found:
        return found
    for candidate in ("/usr/bin/redis-server", "/usr/sbin/redis-server"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Tell whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    """Return the last ``lines`` lines of a log file, or a note that it is missing."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError as exc:
        return f"<no log at {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------- processes

_LIVE: set[subprocess.Popen[bytes]] = set()
_LIVE_LOCK = threading.Lock()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to SIGKILL this child when the process that spawned it dies.

    Linux sends the signal when the spawning *thread* ends, so start servers from the
    main thread (pytest fixtures are) or from a thread that lives as long as they do.
    """
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except OSError:
        pass


def _spawn(
    cmd: list[str], log_path: Path, cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in its own session with stdout+stderr appended to ``log_path``."""
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in pytest must not kill it before teardown
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )
    with _LIVE_LOCK:
        _LIVE.add(proc)
    return proc


def _terminate(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Stop ``proc``: SIGTERM, wait up to ``timeout`` seconds, then SIGKILL."""
    try:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(proc)


@atexit.register
def _kill_leftovers() -> None:
    """Kill any server process still running when the interpreter exits."""
    with _LIVE_LOCK:
        procs = list(_LIVE)
    for proc in procs:
        with contextlib.suppress(Exception):
            _terminate(proc, timeout=5)


def _pid_alive(pid: int) -> bool:
    """Tell whether a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _make_workdir(prefix: str) -> Path:
    """Create a temporary directory owned by this process; remove ones of dead owners first.

    A test run killed with SIGKILL cannot clean up: its servers die with it (PDEATHSIG),
    but their directories stay. The next run removes them here.
    """
    base = Path(tempfile.gettempdir())
    for old in base.glob(f"{prefix}*"):
        try:
            owner = int((old / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if not _pid_alive(owner):
            shutil.rmtree(old, ignore_errors=True)
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    (workdir / "owner.pid").write_text(str(os.getpid()))
    return workdir


def _wait_until(
    check: Callable[[], bool], *, timeout: float, alive: Callable[[], bool], interval: float = 0.2
) -> bool:
    """Poll ``check`` until it is true (True), the process dies or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            return False
        if check():
            return True
        time.sleep(interval)
    return False


# --------------------------------------------------------------------------- Kafka


def _kafka_cluster_id() -> str:
    """Return a random Kafka cluster id (22-char URL-safe base64 UUID, not starting '-')."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        if not cid.startswith("-"):
            return cid


_LOG4J2_PROPERTIES = """\
# Written by tests/servers.py: everything to stdout, which the test set-up sends to a file.
status = warn
# Kafka logs its own shutdown: log4j must not stop first.
shutdownHook = disable
appender.out.type = Console
appender.out.name = STDOUT
appender.out.target = SYSTEM_OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
"""


class KafkaBroker:
    """A real single-node Apache Kafka broker in KRaft mode, as a context manager.

    ``with KafkaBroker() as broker:`` writes ``server.properties`` (combined broker +
    controller, node.id=1, loopback listeners on free ports, replication factor 1,
    no automatic topic creation, small segments) into a fresh temporary directory,
    formats the storage, starts ``java kafka.Kafka`` and waits until a
    ``KafkaAdminClient`` can list topics. ``broker.bootstrap`` is the ``host:port`` to
    give clients. On exit the broker is stopped and the directory removed.

    Args:
        lib_dir: directory with the broker jars (default: ``tests/infra/target/lib``).
        heap: value for the JVM's ``-Xmx``.
        start_timeout: seconds to wait for the broker to serve requests.
        stop_timeout: seconds between SIGTERM and SIGKILL on exit.
        extra_properties: extra or overriding ``server.properties`` entries.
        keep_dir: leave the temporary directory (data and logs) in place on exit.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        lib_dir: Path = KAFKA_LIB_DIR,
        heap: str = "512m",
        start_timeout: float = 120.0,
        stop_timeout: float = 20.0,
        extra_properties: Mapping[str, str] | None = None,
        keep_dir: bool = False,
    ) -> None:
        self.lib_dir = Path(lib_dir)
        self.heap = heap
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.extra_properties = dict(extra_properties or {})
        self.keep_dir = keep_dir
        self.port = 0
        self.controller_port = 0
        self.workdir: Path | None = None
        self.startup_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    # -- public API ----------------------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        """Return the ``host:port`` clients should use as ``bootstrap_servers``."""
        if not self.port:
            raise ServerError("KafkaBroker is not started")
        return f"{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        """Return the file that receives the broker's log (stdout and stderr)."""
        if self.workdir is None:
            raise ServerError("KafkaBroker is not started")
        return self.workdir / "broker.log"

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """Return the last ``lines`` lines of the broker log."""
        return _tail(self.log_path, lines)

    def is_running(self) -> bool:
        """Tell whether the broker process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def admin(self, **config: Any) -> Any:
        """Return a new ``kafka.KafkaAdminClient`` for this broker; the caller closes it."""
        from kafka import KafkaAdminClient

        config.setdefault("request_timeout_ms", 30_000)
        return KafkaAdminClient(bootstrap_servers=self.bootstrap, **config)

    def create_topic(
        self,
        name: str,
        partitions: int = 1,
        configs: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> None:
        """Create topic ``name`` (replication factor 1); wait until each partition has a leader."""
        spec: dict[str, Any] = {"num_partitions": partitions, "replication_factor": 1}
        if configs:
            spec["configs"] = dict(configs)
        admin = self.admin()
        try:
            admin.create_topics({name: spec}, timeout_ms=int(timeout * 1000))
            admin.wait_for_topics([name], timeout_ms=int(timeout * 1000))
        finally:
            admin.close()

    def start(self) -> Self:
        """Write the config, format storage, start the broker and wait until it serves."""
        if self.is_running():
            return self
        if not kafka_jars_present(self.lib_dir):
            raise ServerMissingError(f"Kafka broker jars not found in {self.lib_dir}; {SETUP_HINT}")
        java_home = os.environ.get("JAVA_HOME")
        java = (
            str(Path(java_home) / "bin" / "java")
            if java_home and os.access(Path(java_home) / "bin" / "java", os.X_OK)
            else shutil.which("java")
        )
        if java is None:
            raise ServerMissingError(f"`java` (17+) is not on PATH; {SETUP_HINT}")
        self.workdir = _make_workdir("distillguard-kafka-")
        try:
            # A free port can be taken by someone else before the JVM binds it: retry.
            for attempt in range(3):
                began = time.monotonic()
                self._launch(java)
                if self._wait_ready():
                    self.startup_seconds = time.monotonic() - began
                    return self
                code = self._proc.poll() if self._proc is not None else None
                tail = self.log_tail()
                self._kill()
                if "Address already in use" in tail and attempt < 2:
                    continue
                what = (
                    f"exited with code {code} during start-up"
                    if code is not None
                    else f"did not become ready within {self.start_timeout:.0f}s"
                )
                raise ServerError(
                    f"Kafka broker on {self.host}:{self.port} {what}; "
                    f"last lines of {self.log_path}:\n{tail}"
                )
        except BaseException:
            self.close()
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Stop the broker (SIGTERM, then SIGKILL) and remove its temporary directory."""
        self._kill()
        if self.workdir is not None and not self.keep_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        self.port = self.controller_port = 0

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------

    def _properties(self) -> dict[str, str]:
        """Return the ``server.properties`` entries for the current ports and directory."""
        assert self.workdir is not None
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"{self.host}:{self.controller_port}",
            "listeners": (
                f"PLAINTEXT://{self.host}:{self.port},"
                f"CONTROLLER://{self.host}:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.workdir / "data"),
            "num.partitions": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "auto.create.topics.enable": "false",
            # Simulated traffic carries event-time timestamps, some ahead of the clock.
            "log.message.timestamp.after.max.ms": str(7 * 86400 * 1000),
            "delete.topic.enable": "true",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # Small on-disk footprint (1 MiB is the smallest segment Kafka 4 accepts).
            "log.segment.bytes": str(1024 * 1024),
            "log.index.size.max.bytes": str(1024 * 1024),
            "log.retention.check.interval.ms": "60000",
            # A 2-core CI machine: few threads.
            "num.network.threads": "2",
            "num.io.threads": "2",
            "num.recovery.threads.per.data.dir": "1",
            "background.threads": "2",
        }
        props.update(self.extra_properties)
        return props

    def _launch(self, java: str) -> None:
        """Pick ports, write the config files, format storage and start the JVM."""
        assert self.workdir is not None
        self.port, self.controller_port = free_port(self.host), free_port(self.host)
        while self.controller_port == self.port:
            self.controller_port = free_port(self.host)
        data = self.workdir / "data"
        shutil.rmtree(data, ignore_errors=True)
        config = self.workdir / "server.properties"
        config.write_text("".join(f"{k}={v}\n" for k, v in self._properties().items()))
        log4j = self.workdir / "log4j2.properties"
        log4j.write_text(_LOG4J2_PROPERTIES)
        classpath = str(self.lib_dir / "*")
        jvm = [
            java,
            f"-Xmx{self.heap}",
            "-Xms64m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j}",
            f"-Dkafka.logs.dir={self.workdir}",
            "-cp",
            classpath,
        ]
        fmt = subprocess.run(
            [
                *jvm,
                "kafka.tools.StorageTool",
                "format",
                "--config",
                str(config),
                "--cluster-id",
                _kafka_cluster_id(),
                "--standalone",
            ],
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        with (self.workdir / "broker.log").open("a") as log:
            log.write(f"$ kafka-storage format -> exit {fmt.returncode}\n{fmt.stdout}{fmt.stderr}")
        if fmt.returncode != 0:
            raise ServerError(
                f"formatting Kafka storage failed (exit {fmt.returncode}):\n"
                f"{fmt.stdout}{fmt.stderr}"
            )
        self._proc = _spawn([*jvm, "kafka.Kafka", str(config)], self.log_path, self.workdir)

    def _wait_ready(self) -> bool:
        """Wait until the port accepts connections and an admin client lists topics."""
        deadline = time.monotonic() + self.start_timeout
        if not _wait_until(
            lambda: _port_open(self.host, self.port),
            timeout=self.start_timeout,
            alive=self.is_running,
        ):
            return False
        while time.monotonic() < deadline and self.is_running():
            try:
                admin = self.admin(request_timeout_ms=5_000, bootstrap_timeout_ms=5_000)
                try:
                    admin.list_topics()
                    return True
                finally:
                    admin.close()
            except Exception:  # the broker is still starting: any client error
                time.sleep(0.5)
        return False

    def _kill(self) -> None:
        """Stop the broker process if there is one."""
        if self._proc is not None:
            _terminate(self._proc, self.stop_timeout)
            self._proc = None


# --------------------------------------------------------------------------- Redis


def _no_retry() -> Any:
    """Return a redis-py ``Retry`` that does not retry (readiness probes must not back off)."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return Retry(NoBackoff(), 0)


class RedisServer:
    """A real ``redis-server`` on a free loopback port, as a context manager.

    Runs ``redis-server --port X --save '' --appendonly no --dir <tmp>`` and waits for
    PING. ``url`` is a ``redis://`` URL for redis-py. :meth:`stop` and :meth:`start`
    let a test take the server down for a while and bring it back on the same port
    (:meth:`outage` does both); the data is lost unless ``stop(keep_data=True)``.

    Args:
        password: if given, the server requires it (``requirepass``) and ``url`` has it.
        start_timeout: seconds to wait for PING after starting.
        stop_timeout: seconds between SIGTERM and SIGKILL.
        extra_args: more ``redis-server`` command-line arguments, e.g. ``["--maxmemory", "64mb"]``.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        password: str | None = None,
        start_timeout: float = 20.0,
        stop_timeout: float = 10.0,
        extra_args: list[str] | None = None,
    ) -> None:
        self.password = password
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.extra_args = list(extra_args or [])
        self.port = 0
        self.workdir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the ``redis://`` URL of database 0 (with the password, if any)."""
        if not self.port:
            raise ServerError("RedisServer is not started")
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/0"

    @property
    def log_path(self) -> Path:
        """Return the file that receives redis-server's log."""
        if self.workdir is None:
            raise ServerError("RedisServer is not started")
        return self.workdir / "redis.log"

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """Return the last ``lines`` lines of the redis-server log."""
        return _tail(self.log_path, lines)

    def is_running(self) -> bool:
        """Tell whether the redis-server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def client(self, **kwargs: Any) -> Any:
        """Return a new ``redis.Redis`` connected to this server; the caller closes it."""
        import redis

        kwargs.setdefault("socket_timeout", 5)
        kwargs.setdefault("socket_connect_timeout", 2)
        return redis.Redis.from_url(self.url, **kwargs)

    def start(self) -> Self:
        """Start redis-server (on the same port as before, if it ran before) and wait for PING."""
        if self.is_running():
            return self
        binary = redis_server_binary()
        if binary is None:
            raise ServerMissingError(f"`redis-server` is not installed; {SETUP_HINT}")
        if self.workdir is None:
            self.workdir = _make_workdir("distillguard-redis-")
        if not self.port:
            self.port = free_port(self.host)
        cmd = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            self.host,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
            "--daemonize",
            "no",
            "--logfile",
            "",
            "--protected-mode",
            "no",
        ]
        if self.password:
            cmd += ["--requirepass", self.password]
        cmd += self.extra_args
        self._proc = _spawn(cmd, self.log_path, self.workdir)
        if not _wait_until(self._ping, timeout=self.start_timeout, alive=self.is_running):
            tail = self.log_tail()
            self._kill()
            raise ServerError(
                f"redis-server on port {self.port} did not answer PING within "
                f"{self.start_timeout:.0f}s; last lines of {self.log_path}:\n{tail}"
            )
        return self

    def stop(self, *, keep_data: bool = False) -> None:
        """Stop redis-server, keeping its port for :meth:`start`; ``keep_data`` saves an RDB."""
        if not self.is_running():
            return
        if keep_data:
            with contextlib.suppress(Exception):
                cli = self.client()
                try:
                    cli.shutdown(save=True)
                finally:
                    cli.close()
        else:
            assert self.workdir is not None
            (self.workdir / "dump.rdb").unlink(missing_ok=True)
        self._kill()

    @contextlib.contextmanager
    def outage(self, seconds: float = 0.0, *, keep_data: bool = False) -> Iterator[None]:
        """Stop the server for the ``with`` block (at least ``seconds``), then start it again."""
        began = time.monotonic()
        self.stop(keep_data=keep_data)
        try:
            yield
            time.sleep(max(0.0, seconds - (time.monotonic() - began)))
        finally:
            self.start()

    def close(self) -> None:
        """Stop redis-server and remove its temporary directory."""
        self._kill()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        self.port = 0

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _ping(self) -> bool:
        """Tell whether the server answers PING."""
        try:
            cli = self.client(socket_timeout=1, socket_connect_timeout=1, retry=_no_retry())
            try:
                return bool(cli.ping())
            finally:
                cli.close()
        except Exception:  # not up yet: any connection error
            return False

    def _kill(self) -> None:
        """Stop the redis-server process if there is one."""
        if self._proc is not None:
            _terminate(self._proc, self.stop_timeout)
            self._proc = None
