"""Progress of long commands when their output is not a terminal: a line every few seconds.

Why: rich's progress bar redraws itself only on a terminal. With the output sent to a file
or a pipe (a cron job, ``tee``, CI's log), a bulk ingest of a 10 GB file said nothing for
three minutes and then printed its last state. ``LogProgress`` takes the same calls as the
bar (``add_task``, ``update``) and prints plain lines instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from rich.console import Console

__all__ = ["LogProgress"]


@dataclass
class _Task:
    name: str
    total: float | None
    completed: float = 0.0
    lines: int = 0
    rate: float = 0.0
    started: float = 0.0
    printed: float = 0.0


class LogProgress:
    """A line per task every ``every_s`` seconds of updates, and one when the work ends."""

    def __init__(
        self,
        console: Console,
        every_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._console = console
        self._every_s = every_s
        self._clock = clock
        self._tasks: list[_Task] = []

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in self._tasks:
            self._print(task, self._clock())

    def add_task(
        self, description: str, total: float | None = None, lines: int = 0, rate: float = 0.0
    ) -> int:
        now = self._clock()
        self._tasks.append(_Task(description, total, 0.0, lines, rate, now, now))
        return len(self._tasks) - 1

    def update(
        self,
        task_id: int,
        *,
        completed: float | None = None,
        lines: int | None = None,
        rate: float | None = None,
        **_: Any,
    ) -> None:
        task = self._tasks[task_id]
        if completed is not None:
            task.completed = completed
        if lines is not None:
            task.lines = lines
        if rate is not None:
            task.rate = rate
        now = self._clock()
        if now - task.printed >= self._every_s:
            self._print(task, now)

    def _print(self, task: _Task, now: float) -> None:
        task.printed = now
        done = ""
        if task.total:
            done = f" {100 * task.completed / task.total:.0f}% of {_size(task.total)},"
        elapsed = int(now - task.started)
        self._console.print(
            f"{task.name}:{done} {task.lines:,} lines, {task.rate:,.0f} sentences/s, "
            f"{elapsed // 60}:{elapsed % 60:02d} elapsed",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def _size(n_bytes: float) -> str:
    if n_bytes < 1000:
        return f"{n_bytes:,.0f} B"
    for unit in ("kB", "MB"):
        n_bytes /= 1000
        if n_bytes < 1000:
            return f"{n_bytes:,.1f} {unit}"
    return f"{n_bytes / 1000:,.1f} GB"
