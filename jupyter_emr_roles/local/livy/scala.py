"""Livy's Scala interpreter (statement kind ``spark``) in the JVM of a session's PySpark.

PySpark's own distribution carries Spark's REPL and the Scala compiler (``spark-repl``,
``scala-compiler`` in ``pyspark/jars``), so the real engine runs Scala the way Spark's
shell and Livy's ``SparkInterpreter`` do: a ``scala.tools.nsc.interpreter.IMain`` with
class-based wrappers (closures serialize), its class files written to the folder that
``spark.repl.class.outputDir`` named when the SparkContext started (which serves them to
executors), ``spark`` and ``sc`` bound, one interpreter per session so state lasts. It is
driven over py4j from the worker's main thread: PySpark pins each Python thread to one JVM
thread, which keeps the output redirection, the context class loader and the statement's
job group in place from one call to the next.

Statements run as Livy's ``executeLines`` runs them: line by line, an incomplete line
joined to the next, stopping at the first error, whose output replaces what ran before.
Errors are Livy's shape: ``ename`` ``Error``, ``evalue`` the compiler's first ``error:``
line or the exception's first line, the rest as ``traceback``. What Scala prints is Scala
2.13's (``val res0: Int = 2``); EMR 7's Livy runs Scala 2.12 (``res0: Int = 2``).
"""

from __future__ import annotations

import re
from typing import Any

# One compiler run binds spark and sc (PySpark made its session the JVM's active one) and
# imports what Spark's shell imports; a bind and an import each would be five runs.
PRELUDE = "\n".join([
    "@transient val spark: org.apache.spark.sql.SparkSession = "
    "org.apache.spark.sql.SparkSession.active",
    "@transient val sc: org.apache.spark.SparkContext = spark.sparkContext",
    "import org.apache.spark.SparkContext._",
    "import spark.implicits._",
    "import spark.sql",
    "import org.apache.spark.sql.functions._",
])
_ERROR_LINE = re.compile(r"\s*(<console>:\d+: )?error:")
_CARET = re.compile(r"\s*\^")


class ScalaInterpreter:
    """One Scala interpreter in the session's JVM; call it from the worker's main thread."""

    def __init__(self, jvm: Any, class_folder: str) -> None:
        self._jvm = jvm
        settings = jvm.scala.tools.nsc.Settings()
        arguments = _scala_list(jvm, ["-Yrepl-class-based", "-Yrepl-outdir", class_folder,
                                      "-usejavacp"])
        if not settings.processArguments(arguments, True)._1():
            raise RuntimeError("the Scala compiler refused its settings")
        self._buffer = jvm.java.io.ByteArrayOutputStream()
        self._stream = jvm.java.io.PrintStream(self._buffer, True, "UTF-8")
        self._writer = jvm.java.io.PrintWriter(self._stream, True)
        reporter = jvm.scala.tools.nsc.interpreter.shell.ReplReporterImpl(settings, self._writer)
        self._intp = jvm.scala.tools.nsc.interpreter.IMain(settings, reporter)
        if not self._intp.initializeCompiler():
            raise RuntimeError(f"the Scala compiler did not start: {self._take()}")
        self._thread = jvm.java.lang.Thread.currentThread()
        self._thread.setContextClassLoader(self._intp.classLoader())
        self._redirect_console()
        if self._intp.interpret(PRELUDE).toString() != "Success":
            raise RuntimeError(f"spark and sc could not be bound: {self._take()}")
        self._take()

    def run(self, code: str, count: int) -> dict[str, Any]:
        """A statement's Livy output (``status`` ok with ``text/plain``, or an error)."""
        try:
            return self._run(code, count)
        finally:
            self._jvm.java.lang.Thread.interrupted()  # a late interrupt must not hit the next

    def interrupt(self) -> None:
        """From another thread: end a statement that waits (a sleep, blocking I/O); a Spark
        job is cancelled by its job group."""
        self._thread.interrupt()

    def _run(self, code: str, count: int) -> dict[str, Any]:
        lines = code.strip().split("\n")
        printed = ""
        while lines:
            head = lines.pop(0)
            result = self._intp.interpret(head).toString()  # Success, Error or Incomplete
            out = self._take()
            if result == "Incomplete" and lines:
                lines[0] = f"{head}\n{lines[0]}"
                continue
            if result == "Incomplete":
                if self._intp.interpret("{\n" + head + "\n}").toString() == "Success":
                    printed += self._take()
                    break
                self._take()
                return _error(count, "incomplete statement", [])
            if result == "Error" and out.strip():
                return _error_from(count, out, head)
            printed += out  # an Error with no output: a comment alone, nothing ran
        return {"status": "ok", "execution_count": count,
                "data": {"text/plain": printed.rstrip()}}

    def _take(self) -> str:
        self._writer.flush()
        text = str(self._buffer.toString("UTF-8"))
        self._buffer.reset()
        return text

    def _redirect_console(self) -> None:
        """``println`` and ``show()`` write to ``Console.out`` of this thread: into the buffer
        too, in order with the REPL's own lines. ``Console.withOut`` takes a Scala function,
        which py4j cannot pass, so the variable behind it is set instead."""
        holder = self._jvm.java.lang.Class.forName("scala.Console$")
        field = holder.getDeclaredField("outVar")
        field.setAccessible(True)
        getattr(field.get(None), "value_$eq")(self._stream)


def _scala_list(jvm: Any, items: list[str]) -> Any:
    values = jvm.java.util.ArrayList()
    for item in items:
        values.add(item)
    return jvm.scala.jdk.javaapi.CollectionConverters.asScala(values).toList()


def _error(count: int, evalue: str, traceback: list[str]) -> dict[str, Any]:
    return {"status": "error", "execution_count": count, "ename": "Error", "evalue": evalue,
            "traceback": traceback}


def _error_from(count: int, text: str, chunk: str) -> dict[str, Any]:
    """Livy's ``parseError``: the error's line as ``evalue`` (a compiler's ``error: type
    mismatch;``, an exception's ``java.lang.ArithmeticException: / by zero``), the other
    lines as ``traceback``."""
    lines = text.rstrip().split("\n")
    if lines and _CARET.fullmatch(lines[0]):
        # Scala 2.13 points at line 1 of the input with a caret alone: show the line above it.
        lines.insert(0, "       " + chunk.split("\n")[0])
    at = next((n for n, line in enumerate(lines) if _ERROR_LINE.match(line)), 0)
    rest = lines[:at] + lines[at + 1:]
    return _error(count, lines[at].strip(), [line + "\n" for line in rest])
