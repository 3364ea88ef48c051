"""Where every ``cuepipe`` command writes: rich output on a terminal, plain lines everywhere else.

Command output is read by people at a terminal and by scripts: ``cuepipe validate *.xml | grep
INVALID``, a CI log, a cron job's mail. So the rule for a stream that is not a terminal is one
result per line, exactly as written: no wrapping at any width (``COLUMNS`` is ignored), no colour or
other escape codes, no markup, tables as tab-separated lines with a header, no progress bars. On a
terminal the same calls give colour, aligned tables and (on stderr) progress bars.

Every command gets its consoles from :func:`console`; nothing else creates a ``rich`` console. The
stream is looked up when something is written, not when the console is made, so redirections made
after import (click's test runner, ``contextlib.redirect_stdout``) are honoured. Tests can set
:data:`FORCE_TERMINAL` to see the terminal behaviour without a terminal.
"""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn, TextIO

from rich.console import Console
from rich.markup import render as render_markup
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.progress import Progress as RichProgress
from rich.table import Table
from rich.text import Text

#: None: ask the stream (``isatty``). True/False: treat every stream as a terminal or not (for tests).
FORCE_TERMINAL: bool | None = None

#: A piece of a line: plain text, or ``(text, rich style)`` (the style is used on a terminal only).
Part = str | tuple[str, str]

_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")


def _one_line(text: str) -> str:
    """Line breaks inside a value (a file name, a server message) would split one result in two."""
    return _LINE_BREAKS.sub(" ", text)


class Output:
    """One output stream of a command (stdout, or stderr with ``stderr=True``)."""

    def __init__(self, *, stderr: bool = False) -> None:
        self.stderr = stderr

    @property
    def file(self) -> TextIO:
        return sys.stderr if self.stderr else sys.stdout

    @property
    def is_terminal(self) -> bool:
        if FORCE_TERMINAL is not None:
            return FORCE_TERMINAL
        isatty = getattr(self.file, "isatty", None)
        try:
            return bool(isatty and isatty())
        except ValueError:  # a closed stream
            return False

    def rich(self) -> Console:
        """A rich console on the current stream (only used when it is a terminal)."""
        return Console(
            file=self.file,
            force_terminal=True if FORCE_TERMINAL else None,
            soft_wrap=True,
            highlight=False,
            markup=False,
            emoji=False,
        )

    def _write(self, text: str) -> None:
        stream = self.file
        try:
            stream.write(text + "\n")
            stream.flush()
        except BrokenPipeError:
            _reader_went_away(stream)

    def line(self, *parts: Part) -> None:
        """Write one line made of ``parts``; styles show on a terminal only."""
        if self.is_terminal:
            self.rich().print(
                Text.assemble(*(_one_line(p) if isinstance(p, str) else (_one_line(p[0]), p[1]) for p in parts))
            )
        else:
            self._write("".join(_one_line(p if isinstance(p, str) else p[0]) for p in parts))

    def print(self, text: object = "", *, markup: bool = False, style: str | None = None, **_: Any) -> None:
        """``rich.Console.print`` for one line of text: ``markup=True`` reads rich markup (dropped when
        not a terminal). Never interpolate user values (paths, messages) into markup: use :meth:`line`."""
        message = str(text)
        if not markup:
            self.line((message, style) if style else message)
        elif self.is_terminal:
            self.rich().print(Text.from_markup(_one_line(message)), style=style or "")
        else:
            self._write(_one_line(render_markup(message).plain))

    def block(self, text: object) -> None:
        """Write a multi-line text (a plan, a report) as the lines it has; each line is kept whole."""
        for text_line in str(text).splitlines():
            self.line(text_line)

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[object]], *, title: str | None = None) -> None:
        """A table: aligned with a title on a terminal; else a tab-separated header line, then one
        line per row (cells with tabs or line breaks have them replaced by spaces; no title).
        A cell is a value (None is empty) or ``(text, rich style)``."""
        cells = [[_cell(c) for c in row] for row in rows]
        if self.is_terminal:
            table = Table(title=title)
            for column in columns:
                table.add_column(column)
            for row in cells:
                table.add_row(*(Text(text, style=style) for text, style in row))
            self.rich().print(table)
            return
        for line in [[(c, "") for c in columns], *cells]:
            self._write("\t".join(_one_line(text).replace("\t", " ") for text, _ in line))

    def progress(self, label: str, *, total: float | None = None, unit: str = "items") -> ProgressBar:
        """A progress bar on this stream when it is a terminal, otherwise one that shows nothing."""
        return ProgressBar(self, label, total=total, unit=unit)


def _reader_went_away(stream: TextIO) -> NoReturn:
    """The reader of a pipe stopped reading (``cuepipe validate *.xml | head -1``): stop quietly, with
    the status of a process ended by SIGPIPE, instead of a traceback about a broken pipe."""
    try:  # nothing more can reach the reader; keep Python's final flush from failing again
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass
    raise SystemExit(141)


def _cell(value: object) -> tuple[str, str]:
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return value[0], value[1]
    return ("" if value is None else str(value)), ""


def console(*, stderr: bool = False) -> Output:
    """The console of a command: ``console()`` for results on stdout, ``console(stderr=True)`` for
    messages, errors and progress."""
    return Output(stderr=stderr)


class ProgressBar:
    """A transient progress bar on a terminal; nothing at all otherwise.

    Use it as a context manager. Feed it with :meth:`update` / :meth:`advance`, or pass it where the
    client wants a progress callback (it accepts :class:`cuepipe.client.Progress` events).
    ``unit="bytes"`` shows sizes and speed; any other unit counts items (``12/40``).
    """

    def __init__(self, output: Output, label: str, *, total: float | None = None, unit: str = "items") -> None:
        self.enabled = output.is_terminal
        self._bar: RichProgress | None = None
        if not self.enabled:
            return
        counter: list[Any] = (
            [DownloadColumn(), TransferSpeedColumn()] if unit == "bytes" else [MofNCompleteColumn(), TextColumn(unit)]
        )
        self._bar = RichProgress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            *counter,
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=output.rich(),
            transient=True,
        )
        self._task = self._bar.add_task(label, total=total, detail="")
        self._items: dict[str, Any] = {}

    def update(self, completed: float | None = None, *, total: float | None = None, detail: str | None = None) -> None:
        if self._bar is None:
            return
        fields: dict[str, Any] = {}
        if detail is not None:
            fields["detail"] = _one_line(detail)
        self._bar.update(self._task, completed=completed, total=total, **fields)

    def advance(self, amount: float = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, amount)

    def item(self, key: str, completed: float, total: float | None = None, *, label: str | None = None) -> None:
        """A bar of its own for ``key`` under the main one (made on first use, e.g. one per entry of
        a copy), at ``completed`` of ``total``; nothing when not a terminal."""
        if self._bar is None:
            return
        task = self._items.get(key)
        if task is None:
            task = self._items[key] = self._bar.add_task(_one_line(label or key), total=total, detail="")
        self._bar.update(task, completed=completed, total=total)

    def __call__(self, event: Any) -> None:
        """A client progress callback: ``event`` has ``done``, ``total`` and ``detail``."""
        self.update(event.done, total=event.total, detail=event.detail)

    def __enter__(self) -> ProgressBar:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


class CountingReader:
    """A binary file that reports how far it has been read (its position) to ``report``.

    Lets a command show progress in bytes for readers that take a file object. Seeking back (a
    second validation pass) moves the progress back too.
    """

    def __init__(self, path: str, report: Callable[[int], None]) -> None:
        self._f = open(path, "rb")  # noqa: SIM115 - closed by close()/__exit__
        self.name = path
        self._report = report

    def read(self, size: int = -1) -> bytes:
        data = self._f.read(size)
        self._report(self._f.tell())
        return data

    def readinto(self, buffer: Any) -> int:
        n = self._f.readinto(buffer)
        self._report(self._f.tell())
        return n

    def peek(self, size: int = 0) -> bytes:
        return self._f.peek(size)

    def tell(self) -> int:
        return self._f.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        position = self._f.seek(offset, whence)
        self._report(position)
        return position

    def seekable(self) -> bool:
        return self._f.seekable()

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._f.close()

    @property
    def closed(self) -> bool:
        return self._f.closed

    def __enter__(self) -> CountingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
