"""The interpreter of one Livy session: ``python -m jupyter_emr_roles.local.livy.worker``.

The gateway starts one of these per session, with the session's runtime-role
credentials in its environment, and talks to it over stdin/stdout, one JSON
object per line:

- gateway -> worker, first line: ``{"session_id", "kind", "driverMemory", "conf"}``
- worker -> gateway, once started: ``{"ready": true, "appId", "sparkUiUrl"}``
- gateway -> worker: ``{"id", "code", "kind"}`` (``kind``: ``pyspark``, ``spark`` or ``sql``)
- worker -> gateway: ``{"id", "output": {...Livy statement output...}}``, or
  ``{"id", "cancelled": true}`` when SIGINT interrupted the statement.

Statements run one at a time, in order, in one namespace that lasts as long
as the session. Python code runs like Livy's PySpark shell: every statement
is executed and the repr of a final expression (if not None) is printed; what
the code prints is the ``text/plain`` result. Everything on stderr ends up in
the session's log.

Engines: ``fake`` is plain Python (fast, no Java), with stand-ins for
``spark``/``sc``/``sqlContext`` because sparkmagic probes ``spark`` right after
a session starts; ``real`` builds a local PySpark session, and Spark's Scala
interpreter in its JVM (``scala.py``) for ``spark`` statements: at the start of a
session of kind ``spark``, at the first Scala statement in any other, as Livy's
interpreters start.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import contextlib
import io
import json
import os
import re
import signal
import sys
import tempfile
import threading
import time
import traceback
import warnings
from pathlib import Path
from types import FrameType
from typing import IO, Any

from .scala import ScalaInterpreter

STATEMENT_FILE = "<stdin>"  # the file name Livy's shell gives statements in tracebacks
SQL_MAX_ROWS = 1000  # Livy's default spark.livy.sql.max-result
FAKE_ENGINE_HINT = "start the emulator with --spark real"


class NotSupported(AttributeError):
    """Something the fake engine cannot do because it has no Spark.

    An AttributeError so that ``hasattr(spark, ...)`` and similar probes say
    False instead of failing.
    """


class _NoSpark:
    """Stands in for ``spark``, ``sc`` and ``sqlContext`` in the fake engine."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return (f"<{self._name}: no Spark here, the fake engine runs plain Python; "
                f"{FAKE_ENGINE_HINT} for Spark>")

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        raise NotSupported(f"{self._name}.{attribute} needs Spark, and the fake engine runs "
                           f"Python only; {FAKE_ENGINE_HINT} for Spark")


_MEMORY_SIZE = re.compile(r"[0-9]+([kmgtp]b?|b)?", re.IGNORECASE | re.ASCII)


class FakeEngine:
    """Plain Python: quick to start, for tests and demos that do not need Spark."""

    def __init__(self, settings: dict[str, Any]) -> None:
        memory = settings.get("driverMemory")
        if memory and not _MEMORY_SIZE.fullmatch(memory):
            # Spark refuses to start a driver with such a size; so does the fake, so that a
            # session that dies while starting can be met without Java.
            raise ValueError(f"Invalid driverMemory {memory!r}: Spark needs a size such as "
                             "512m or 2g, so the session cannot start")
        self.app_id = f"local-fake-{os.getpid()}"
        self.spark_ui_url: str | None = None
        self.namespace: dict[str, Any] = {name: _NoSpark(name)
                                          for name in ("spark", "sc", "sqlContext")}

    def sql(self, code: str) -> dict[str, Any]:
        raise NotSupported(f"the fake engine runs Python only; {FAKE_ENGINE_HINT} for SQL")

    def scala(self, code: str, count: int) -> dict[str, Any]:
        raise NotSupported(f"Scala needs real Spark, and the fake engine runs Python only; "
                           f"{FAKE_ENGINE_HINT}")

    def begin(self, statement_id: int) -> None:
        """Plain Python needs no preparation to be interruptible."""

    def interrupt(self, frame: FrameType | None) -> bool:
        """Plain Python stops where it is: always raise KeyboardInterrupt."""
        return True

    def end(self) -> None:
        """Nothing to tidy up after a statement."""

    def cancelling(self) -> bool:
        """A cancel here is a KeyboardInterrupt, raised where the code is."""
        return False


class RealEngine:
    """A local PySpark session (``local[1]``), configured from the session request."""

    def __init__(self, settings: dict[str, Any]) -> None:
        # Spark's Python workers must use this interpreter, not whatever "python3" is on PATH,
        # and nothing of the session's Spark listens beyond this machine.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        from pyspark.sql import SparkSession, SQLContext

        # Where Scala statements' classes go (named for every session: see _session_conf).
        self._classes = tempfile.TemporaryDirectory(prefix="livy-repl-")
        conf = _session_conf(settings, Path(self._classes.name))
        builder = SparkSession.builder.master("local[1]").appName(
            f"livy-session-{settings['session_id']}")
        for key, value in conf.items():
            builder = builder.config(key, value)
        self.spark = builder.getOrCreate()
        # PySpark 4 warns that toJSON() will stop returning the RDD sparkmagic's %%sql relies on;
        # a statement's warnings are part of its output (as in Livy's shell), and %%sql reads
        # each line of that output as a JSON row. The emulated Spark 3.5 has no such warning.
        warnings.filterwarnings("ignore", r"The return type of DataFrame\.toJSON ", UserWarning)
        context = self.spark.sparkContext
        self.app_id = context.applicationId
        self.spark_ui_url = context.uiWebUrl
        self.namespace = {"spark": self.spark, "sc": context,
                          "sqlContext": SQLContext(context, self.spark)}
        self._group: str | None = None
        self._stop_cancelling = threading.Event()
        self._canceller: threading.Thread | None = None
        self._scala: ScalaInterpreter | None = None
        if settings.get("kind") == "spark":
            self._interpreter()

    def scala(self, code: str, count: int) -> dict[str, Any]:
        """A Scala statement's Livy output, from the session's one Scala interpreter."""
        return self._interpreter().run(code, count)

    def _interpreter(self) -> ScalaInterpreter:
        if self._scala is None:
            self._scala = ScalaInterpreter(self.spark._jvm, self._classes.name)
        return self._scala

    def sql(self, code: str) -> dict[str, Any]:
        """Livy's SQL interpreter: schema and first rows as JSON, plus a plain-text table."""
        frame = self.spark.sql(code)
        rows = [list(row) for row in frame.take(SQL_MAX_ROWS)]
        table = ["\t".join(frame.columns)] + ["\t".join(str(v) for v in row) for row in rows]
        data = json.loads(json.dumps({"schema": json.loads(frame.schema.json()), "data": rows},
                                     default=str))
        return {"application/json": data, "text/plain": "\n".join(table)}

    def begin(self, statement_id: int) -> None:
        """Tag the statement's Spark jobs so that a cancel stops exactly those (as Livy does)."""
        self._group = f"livy-statement-{statement_id}"
        self._stop_cancelling.clear()
        self.spark.sparkContext.setJobGroup(self._group, f"Livy statement {statement_id}",
                                            interruptOnCancel=True)

    def interrupt(self, frame: FrameType | None) -> bool:
        """Cancel the statement's jobs; interrupt Python only when it is not inside a JVM call.

        Raising KeyboardInterrupt inside py4j would leave the thread's JVM
        connection waiting for an answer nobody reads (the next call would
        get it), and calling the JVM from this handler would reuse that same
        connection. So a helper thread, on its own connection, cancels the
        job group every 100 ms (jobs submitted late are caught too) and
        re-sends SIGINT, which takes effect once Python is back from the JVM.
        """
        if self._canceller is None and self._group is not None:
            self._canceller = threading.Thread(target=self._cancel, args=(self._group,),
                                               name="livy-cancel", daemon=True)
            self._canceller.start()
        while frame is not None:
            if "py4j" in frame.f_code.co_filename.split(os.sep):
                return False
            frame = frame.f_back
        return True

    def _cancel(self, group: str) -> None:
        main = threading.main_thread().ident
        assert main is not None
        while not self._stop_cancelling.is_set():
            self.spark.sparkContext.cancelJobGroup(group)
            if self._scala is not None:
                self._scala.interrupt()
            signal.pthread_kill(main, signal.SIGINT)
            self._stop_cancelling.wait(0.1)

    def cancelling(self) -> bool:
        """Whether the running statement is being cancelled (its helper started)."""
        return self._canceller is not None

    def end(self) -> None:
        """Stop the helper before the next statement, so its SIGINTs cannot reach that one."""
        self._stop_cancelling.set()
        if self._canceller is not None:
            self._canceller.join()
        self._canceller = self._group = None


def _session_conf(settings: dict[str, Any], classes: Path) -> dict[str, str]:
    """The Spark conf of a session: the emulator's defaults, then the request's."""
    conf = {
        "spark.ui.enabled": "false",  # quicker start; a request can turn it on
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.showConsoleProgress": "false",  # progress bars would flood the log
        # An emulator's sessions are short and small: the quick C1 compiler halves the time
        # to the first result; peak speed does not matter here.
        "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
        # SQL semantics of EMR 7's Spark 3.5, the Spark of the world's Livy clusters: overflow
        # wraps instead of failing. Spark 4 turned ANSI mode on; a request's conf can too.
        "spark.sql.ansi.enabled": "false",
    }
    if settings.get("driverMemory"):
        conf["spark.driver.memory"] = settings["driverMemory"]
    conf.update(settings.get("conf") or {})
    # The SparkContext serves Scala statements' classes to executors only if their folder is
    # named before the context starts, so every session names one, Scala or not yet.
    conf["spark.repl.class.outputDir"] = str(classes)
    conf["spark.driver.extraJavaOptions"] = conf.get("spark.driver.extraJavaOptions", "") + \
        _java_trust(classes)
    return conf


def _java_trust(folder: Path) -> str:
    """The JVM trusts the AWS endpoint the session's Python trusts (``AWS_CA_BUNDLE``), as an
    EMR driver's JVM trusts AWS's: Scala code calls AWS too. Java reads no PEM trust store,
    so the CA goes into a PKCS12 one."""
    bundle = os.environ.get("AWS_CA_BUNDLE")
    if not bundle:
        return ""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import NoEncryption, pkcs12

    authorities = x509.load_pem_x509_certificates(Path(bundle).read_bytes())
    store = folder / "aws-trust.p12"
    store.write_bytes(pkcs12.serialize_java_truststore(
        [pkcs12.PKCS12Certificate(ca, f"aws-{n}".encode()) for n, ca in enumerate(authorities)],
        NoEncryption()))
    return f" -Djavax.net.ssl.trustStore={store} -Djavax.net.ssl.trustStoreType=PKCS12"


Engine = FakeEngine | RealEngine
ENGINES: dict[str, type[Engine]] = {"fake": FakeEngine, "real": RealEngine}


class _Interrupter:
    """SIGINT cancels the running statement, and is ignored between statements.

    Ignoring it outside a statement matters: a cancel that arrives just after
    a statement finished must not kill the session.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.armed = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.armed and self.engine.interrupt(frame):
            self.armed = False
            raise KeyboardInterrupt


def run_python(code: str, namespace: dict[str, Any]) -> str:
    """Execute ``code`` like Livy's PySpark shell and return what it printed."""
    body = ast.parse(code, STATEMENT_FILE, "exec").body
    tail = body[-1] if body else None
    last = ast.Expression(body=tail.value) if isinstance(tail, ast.Expr) else None
    if last is not None:
        body = body[:-1]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        module = ast.Module(body=body, type_ignores=[])
        exec(compile(module, STATEMENT_FILE, "exec"), namespace)  # noqa: S102  it is the job
        if last is not None:
            value = eval(compile(last, STATEMENT_FILE, "eval"), namespace)
            if value is not None:
                print(repr(value))
    return printed.getvalue().rstrip()


def error_output(count: int, error: BaseException) -> dict[str, Any]:
    """Livy's error output, with a traceback that shows the user's frames and none of ours."""
    report = traceback.TracebackException.from_exception(error)
    _drop_worker_frames(report)
    return {"status": "error", "execution_count": count, "ename": type(error).__name__,
            "evalue": str(error), "traceback": list(report.format())}


def _drop_worker_frames(report: traceback.TracebackException) -> None:
    report.stack = traceback.StackSummary.from_list(
        [frame for frame in report.stack if frame.filename != __file__])
    for nested in (report.__cause__, report.__context__):
        if nested is not None:
            _drop_worker_frames(nested)


def execute(request: dict[str, Any], engine: Engine,
            interrupter: _Interrupter) -> dict[str, Any]:
    """Run one statement and build its reply; nothing a statement does ends the worker."""
    count = request["id"]
    try:
        engine.begin(count)
        interrupter.armed = True
        try:
            if request.get("kind") == "spark":
                output = engine.scala(request["code"], count)
                if engine.cancelling():  # the JVM answered the interrupt before Python could
                    raise KeyboardInterrupt
                return {"id": count, "output": output}
            if request.get("kind") == "sql":
                data = engine.sql(request["code"])
            else:
                data = {"text/plain": run_python(request["code"], engine.namespace)}
        finally:
            interrupter.armed = False
            engine.end()
    except KeyboardInterrupt:
        return {"id": count, "cancelled": True}
    except BaseException as error:  # noqa: BLE001  even SystemExit must not end the session
        return {"id": count, "output": error_output(count, error)}
    return {"id": count, "output": {"status": "ok", "execution_count": count, "data": data}}


def _claim_protocol_channel() -> tuple[IO[str], IO[str]]:
    """Keep private copies of stdin/stdout for the protocol and point fds 0/1 elsewhere.

    Afterwards nothing else in this process or its children (user code,
    ``subprocess`` calls, the JVM) can read protocol lines or write into them:
    fd 0 reads /dev/null and fd 1 goes to stderr, i.e. to the session log.
    """
    protocol_in = os.fdopen(os.dup(0), "r", encoding="utf-8")
    protocol_out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return protocol_in, protocol_out


def _exit_with_parent() -> None:
    """End this worker if the gateway dies without killing it (its own session, no SIGHUP)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="One Livy session's interpreter (internal).")
    parser.add_argument("--engine", choices=sorted(ENGINES), required=True)
    args = parser.parse_args(argv)
    protocol_in, protocol_out = _claim_protocol_channel()
    _exit_with_parent()

    def send(message: dict[str, Any]) -> None:
        protocol_out.write(json.dumps(message, default=str) + "\n")

    first = protocol_in.readline()
    if not first:
        return 0
    try:
        engine = ENGINES[args.engine](json.loads(first))
    except Exception as exc:  # noqa: BLE001  any start failure ends the session, as in Livy
        # One line in the session log, like the error a failed Spark driver leaves there.
        sys.stderr.write(f"the session could not start: {type(exc).__name__}: {exc}\n")
        return 1
    engine.namespace.update({"__name__": "__main__", "__builtins__": builtins})
    interrupter = _Interrupter(engine)
    signal.signal(signal.SIGINT, interrupter)  # after the engine: pyspark installs its own
    send({"ready": True, "appId": engine.app_id, "sparkUiUrl": engine.spark_ui_url})
    for line in protocol_in:
        send(execute(json.loads(line), engine, interrupter))
    return 0


if __name__ == "__main__":
    sys.exit(main())
