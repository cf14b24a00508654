"""A real single-node Kafka (KRaft, combined broker+controller) on loopback, for tests.

The broker runs from the jars of the archive `make kafka-dist` builds
(build/kafka/kafka_2.13-<version>.tgz, laid out like Apache's archive), or of any
extracted Kafka whose libs/ holds the jars:

    broker = KafkaBroker(tmp_path / "kafka")
    broker.start()                       # formats storage on first start
    broker.create_topics(["cpu"], partitions=3)
    ... KafkaProducer(bootstrap_servers=broker.bootstrap_servers) ...
    broker.restart()                     # same ports, same data
    broker.stop()

Only `java -cp 'libs/*' <main class>` is used, never bin/ scripts, exactly like
the Ansible role. Processes are ended by their own pid only.

Environment (all optional):
    KAFKA_VERSION  version of build/kafka/kafka_2.13-<version>.tgz (default 4.1.1)
    KAFKA_ARCHIVE  path of a kafka_2.13-<version>.tgz to use instead
    KAFKA_HOME     an extracted Kafka folder (with libs/) to use instead
    JAVA_HOME      java to run (default: `java` on PATH)
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
from collections import deque
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCALA_VERSION = "2.13"
DEFAULT_KAFKA_VERSION = "4.1.1"
LOOPBACK = "127.0.0.1"

# Kafka's error code for CreateTopics on an existing topic.
_TOPIC_ALREADY_EXISTS = 36


class KafkaDistMissing(RuntimeError):
    """No Kafka jars to run: the archive has not been built."""


class KafkaBrokerError(RuntimeError):
    """The broker failed to format, start or answer."""


# --------------------------------------------------------------------------- #
# Locating the jars
# --------------------------------------------------------------------------- #

def kafka_version() -> str:
    return os.environ.get("KAFKA_VERSION") or DEFAULT_KAFKA_VERSION


def default_archive(version: str | None = None) -> Path:
    """build/kafka/kafka_2.13-<version>.tgz of this repository."""
    version = version or kafka_version()
    return REPO_ROOT / "build" / "kafka" / f"kafka_{SCALA_VERSION}-{version}.tgz"


def _check_home(home: Path) -> Path:
    libs = home / "libs"
    if not any(libs.glob(f"kafka_{SCALA_VERSION}-*.jar")):
        raise KafkaDistMissing(
            f"{libs} holds no kafka_{SCALA_VERSION}-*.jar; "
            "run `make kafka-dist` (or point KAFKA_HOME at an extracted Kafka)")
    return home


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def extract_archive(archive: Path, dest: Path | None = None) -> Path:
    """Extract `archive` into `dest` (default: the archive's folder) once.

    Returns the archive's top folder. A marker file in it records the archive's
    name, size, mtime and sha256: an archive rebuilt with the same content (the
    build is reproducible) is not extracted again, a changed one is. Extraction
    goes to a temporary folder first and is renamed into place under a lock, so
    concurrent test processes never see a half-extracted Kafka.
    """
    archive = Path(archive).resolve()
    dest = Path(dest).resolve() if dest else archive.parent
    dest.mkdir(parents=True, exist_ok=True)
    top = archive.name
    for suffix in (".tgz", ".tar.gz"):
        if top.endswith(suffix):
            top = top[: -len(suffix)]
    home = dest / top
    marker = home / ".extracted-from"

    with open(dest / ".extract.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        st = archive.stat()
        quick = f"{archive.name} {st.st_size} {st.st_mtime_ns}"
        recorded = marker.read_text().split() if marker.is_file() else []
        if recorded[:3] == quick.split():
            return home
        digest = _sha256(archive)
        if recorded[3:4] == [digest] and (home / "libs").is_dir():
            marker.write_text(f"{quick} {digest}\n")   # same content, newer file
            return home
        tmp = Path(tempfile.mkdtemp(prefix=".extract.", dir=dest))
        try:
            with tarfile.open(archive, "r:gz") as tar:
                names = tar.getnames()
                if not names or any(n != top and not n.startswith(top + "/") for n in names):
                    raise KafkaBrokerError(
                        f"{archive}: expected everything under a single top folder {top}/")
                tar.extractall(tmp, filter="data")
            (tmp / top / ".extracted-from").write_text(f"{quick} {digest}\n")
            if home.exists():
                shutil.rmtree(home)
            os.rename(tmp / top, home)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return home


def locate_kafka_home(archive: str | Path | None = None,
                      kafka_home: str | Path | None = None,
                      version: str | None = None) -> Path:
    """The folder whose libs/ holds the Kafka jars (extracting the archive if needed)."""
    if kafka_home is None and archive is None and os.environ.get("KAFKA_HOME"):
        kafka_home = os.environ["KAFKA_HOME"]
    if kafka_home is not None:
        return _check_home(Path(kafka_home).resolve())
    if archive is None:
        archive = os.environ.get("KAFKA_ARCHIVE") or default_archive(version)
    archive = Path(archive)
    if not archive.is_file():
        raise KafkaDistMissing(
            f"Kafka archive {archive} not found: run `make kafka-dist` "
            f"(KAFKA_VERSION={version or kafka_version()}) first")
    return _check_home(extract_archive(archive))


def java_executable() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if not java:
        raise KafkaBrokerError("java not found (install a JRE 17+ or set JAVA_HOME)")
    return java


def free_loopback_ports(count: int) -> list[int]:
    """`count` distinct TCP ports that are free on 127.0.0.1 right now."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((LOOPBACK, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _port_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------- #
# The broker
# --------------------------------------------------------------------------- #

class KafkaBroker:
    """One KRaft node (process.roles=broker,controller) listening on 127.0.0.1 only.

    Arguments:
        work_dir: folder for server.properties, the data (log.dirs) and broker.log.
        archive / kafka_home / version: where the jars come from (see module doc).
        heap: JVM max heap.
        start_timeout: seconds start() waits for the broker to answer.
        overrides: extra or replacing server.properties entries.
    """

    NODE_ID = 1

    def __init__(self, work_dir: str | Path, *, archive: str | Path | None = None,
                 kafka_home: str | Path | None = None, version: str | None = None,
                 heap: str = "512m", start_timeout: float = 60.0,
                 overrides: dict[str, object] | None = None):
        self.kafka_home = locate_kafka_home(archive, kafka_home, version)
        self.libs_dir = self.kafka_home / "libs"
        self.java = java_executable()
        self.work_dir = Path(work_dir).resolve()
        self.data_dir = self.work_dir / "data"
        self.config_path = self.work_dir / "server.properties"
        self.log_path = self.work_dir / "broker.log"
        self.heap = heap
        self.start_timeout = start_timeout
        self.overrides = dict(overrides or {})
        self.host = LOOPBACK
        self.port: int | None = None
        self.controller_port: int | None = None
        self.cluster_id: str | None = None
        self.proc: subprocess.Popen | None = None
        self.last_start_seconds: float | None = None
        self._log_file = None
        atexit.register(self._kill_at_exit)

    # -- properties -------------------------------------------------------- #

    @property
    def bootstrap_servers(self) -> str:
        if self.port is None:
            raise KafkaBrokerError("broker has not been started")
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def server_properties(self) -> dict[str, str]:
        broker = f"PLAINTEXT://{self.host}:{self.port}"
        controller = f"CONTROLLER://{self.host}:{self.controller_port}"
        props: dict[str, object] = {
            "process.roles": "broker,controller",
            "node.id": self.NODE_ID,
            "controller.quorum.bootstrap.servers": f"{self.host}:{self.controller_port}",
            "listeners": f"{broker},{controller}",
            "advertised.listeners": f"{broker},{controller}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": 1,
            "default.replication.factor": 1,
            "min.insync.replicas": 1,
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": 1,
            "offsets.topic.num.partitions": 1,
            "transaction.state.log.replication.factor": 1,
            "transaction.state.log.min.isr": 1,
            "transaction.state.log.num.partitions": 1,
            "share.coordinator.state.topic.replication.factor": 1,
            "share.coordinator.state.topic.min.isr": 1,
            "group.initial.rebalance.delay.ms": 0,
            # After a SIGKILL the restarted controller keeps the dead broker's
            # registration until its session times out (default 9 s), which
            # delays the restart by that much. Heartbeats stay frequent enough
            # that a busy 2-core machine does not fence the live broker.
            "broker.session.timeout.ms": 4000,
            "broker.heartbeat.interval.ms": 500,
            # A small machine: fewer threads than the defaults.
            "num.network.threads": 2,
            "num.io.threads": 2,
            "num.recovery.threads.per.data.dir": 1,
        }
        props.update(self.overrides)
        return {k: str(v) for k, v in props.items()}

    # -- lifecycle --------------------------------------------------------- #

    def _classpath(self) -> str:
        return str(self.libs_dir / "*")

    def _log4j_opts(self, name: str) -> list[str]:
        cfg = self.kafka_home / "config" / name
        return [f"-Dlog4j2.configurationFile={cfg}"] if cfg.is_file() else []

    # Short-lived tool JVMs start ~0.3 s faster with C1 only and the serial GC.
    TOOL_JVM_OPTS = ("-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")

    def run_tool(self, main_class: str, *args: object, timeout: float = 120.0,
                 check: bool = True, jvm_opts=TOOL_JVM_OPTS) -> subprocess.CompletedProcess:
        """Run a Kafka tool class (`java -cp 'libs/*' MAIN ARGS`), output captured.

        Pass jvm_opts=("-Xmx512m",) for throughput runs (ProducerPerformance)."""
        cmd = [self.java, *jvm_opts, *self._log4j_opts("tools-log4j2.yaml"),
               "-cp", self._classpath(), main_class, *map(str, args)]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                             cwd=self.work_dir, stdin=subprocess.DEVNULL)
        if check and res.returncode != 0:
            raise KafkaBrokerError(
                f"{main_class} {' '.join(map(str, args))} exited {res.returncode}:\n"
                f"{res.stdout[-2000:]}{res.stderr[-4000:]}")
        return res

    def _write_config(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        lines = [f"{k}={v}" for k, v in self.server_properties().items()]
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text("# written by tests/support/kafka_broker.py\n" + "\n".join(lines) + "\n")
        os.replace(tmp, self.config_path)

    def _formatted(self) -> bool:
        return (self.data_dir / "meta.properties").is_file()

    def _format(self) -> None:
        self.cluster_id = self.run_tool("kafka.tools.StorageTool", "random-uuid").stdout.strip()
        self.run_tool("kafka.tools.StorageTool", "format", "-t", self.cluster_id,
                      "-c", self.config_path, "--standalone")

    def start(self) -> None:
        """Start the broker (formatting its storage the first time) and wait until
        it answers a metadata request and every existing partition has a leader."""
        if self.is_running():
            return
        t0 = time.monotonic()
        if self.port is None:
            self.port, self.controller_port = free_loopback_ports(2)
        self._write_config()
        if not self._formatted():
            self._format()
        for port in (self.port, self.controller_port):
            if _port_open(port, timeout=0.2):
                raise KafkaBrokerError(f"port {self.host}:{port} is already taken by someone else")
        cmd = [
            self.java, f"-Xmx{self.heap}", "-Xms128m",
            "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={self.work_dir}",
            *self._log4j_opts("log4j2.yaml"),
            "-cp", self._classpath(), "kafka.Kafka", str(self.config_path),
        ]
        self._log_file = open(self.log_path, "ab")
        self._log_file.write(f"\n=== start {time.strftime('%H:%M:%S')}: {' '.join(cmd)}\n".encode())
        self._log_file.flush()
        self.proc = subprocess.Popen(cmd, cwd=self.work_dir, stdin=subprocess.DEVNULL,
                                     stdout=self._log_file, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        try:
            self._wait_ready(t0 + self.start_timeout)
        except BaseException:
            self.kill_hard()
            raise
        self.last_start_seconds = time.monotonic() - t0

    def _wait_ready(self, deadline: float) -> None:
        from kafka import KafkaAdminClient

        last_error: object = "the broker port never opened"
        while True:
            if self.proc.poll() is not None:
                raise KafkaBrokerError(
                    f"Kafka exited with code {self.proc.returncode} while starting "
                    f"(log: {self.log_path}):\n{self.log_tail()}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise KafkaBrokerError(
                    f"Kafka did not answer on {self.bootstrap_servers} within "
                    f"{self.start_timeout:g}s (last error: {last_error}; log: {self.log_path}):\n"
                    f"{self.log_tail()}")
            if not _port_open(self.port):
                time.sleep(0.2)
                continue
            try:
                timeout_ms = int(max(1.0, min(remaining, 10.0)) * 1000)
                admin = KafkaAdminClient(bootstrap_servers=self.bootstrap_servers,
                                         client_id="kafka-broker-harness",
                                         bootstrap_timeout_ms=timeout_ms,
                                         request_timeout_ms=timeout_ms)
                try:
                    cluster = admin.describe_cluster()
                    if not any(b["broker_id"] == self.NODE_ID for b in cluster["brokers"]):
                        raise KafkaBrokerError(f"broker not registered yet: {cluster}")
                    topics = admin.list_topics()
                    if topics:  # after a restart: wait for every partition's leader
                        admin.wait_for_topics(topics, timeout_ms=timeout_ms)
                    return
                finally:
                    admin.close()
            except Exception as exc:  # not ready yet: retry until the deadline
                last_error = f"{type(exc).__name__}: {exc}"
                time.sleep(0.3)

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (clean shutdown), wait up to `timeout`, then SIGKILL. Own pid only."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self._close_log()

    def kill_hard(self) -> None:
        """SIGKILL the broker: a crash, no clean shutdown."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self._close_log()

    def restart(self, hard: bool = False) -> None:
        """Stop (SIGTERM, or SIGKILL if `hard`) and start again on the same ports and data."""
        if hard:
            self.kill_hard()
        else:
            self.stop()
        self.start()

    def _kill_at_exit(self) -> None:
        try:
            self.kill_hard()
        except Exception:
            pass

    def __enter__(self) -> "KafkaBroker":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- helpers ----------------------------------------------------------- #

    def admin(self, **configs):
        """A kafka-python KafkaAdminClient for this broker (the caller closes it)."""
        from kafka import KafkaAdminClient

        configs.setdefault("bootstrap_servers", self.bootstrap_servers)
        configs.setdefault("bootstrap_timeout_ms", 15000)
        return KafkaAdminClient(**configs)

    def create_topics(self, names, partitions: int = 1, configs: dict | None = None,
                      timeout: float = 30.0) -> None:
        """Create the topics if missing (idempotent) and wait until every partition
        has a leader. An existing topic with another partition count is an error."""
        import kafka.errors as Errors

        if isinstance(names, str):
            names = [names]
        names = list(names)
        spec = {name: {"num_partitions": partitions, "replication_factor": 1,
                       "configs": {k: str(v) for k, v in (configs or {}).items()}}
                for name in names}
        admin = self.admin()
        try:
            result = admin.create_topics(spec, timeout_ms=int(timeout * 1000), raise_errors=False)
            for topic in result["topics"]:
                code = topic["error_code"]
                if code not in (0, _TOPIC_ALREADY_EXISTS):
                    raise Errors.for_code(code)(
                        f"creating topic {topic['name']}: {topic.get('error_message')}")
            admin.wait_for_topics(names, timeout_ms=int(timeout * 1000))
            for topic in admin.describe_topics(names):
                if len(topic["partitions"]) != partitions:
                    raise KafkaBrokerError(
                        f"topic {topic['name']} exists with {len(topic['partitions'])} "
                        f"partitions, not {partitions}")
        finally:
            admin.close()

    def log_tail(self, lines: int = 60) -> str:
        try:
            with open(self.log_path, "rb") as f:
                tail = deque(f, maxlen=lines)
        except FileNotFoundError:
            return "(no broker log)"
        return b"".join(tail).decode("utf-8", "replace")
