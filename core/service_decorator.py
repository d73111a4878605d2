"""What makes a function a service: the one way an app writes, which pins its writer's reads.

A service (`users/services.py`) is a keyword-only function that owns one write and its business
rules. Declaring it with `@service(writer=...)` gives it the write's side effect that is easy
to forget: once it returns, the reads of the user it wrote for are pinned to the primary until
the replicas have replayed the write (`core.replicas.record_write`, read-your-writes). Views
never call `record_write` themselves, so a new write route cannot forget it; the tests hold
that every request's writes to the profile's tables happen inside a service
(users/tests/write_guard.py) and that every public function of a services module is one.
"""

import contextvars
import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from core.replicas import record_write

F = TypeVar("F", bound=Callable[..., Any])

_running: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "overworld_service", default=None
)


def service(*, writer: str | Callable[[Any], Any]) -> Callable[[F], F]:
    """Declare a service. `writer` says whose reads its write pins:

    - the name of one of its keyword arguments (`writer="follower"`), or
    - a function of its result, for a user who exists only once it ran
      (`writer=lambda login: login.user` for register and login).

    The pin is recorded once the write commits: at once in autocommit, or when the caller's
    transaction commits. A service that raises pins nothing (its own transaction rolled back).
    """

    def decorate(function: F) -> F:
        parameters = inspect.signature(function).parameters.values()
        positional = [p.name for p in parameters if p.kind is not inspect.Parameter.KEYWORD_ONLY]
        if positional:
            raise TypeError(f"{function.__qualname__}: a service takes keyword arguments only")
        if isinstance(writer, str) and writer not in {p.name for p in parameters}:
            raise TypeError(f"{function.__qualname__} has no argument {writer!r}")

        @functools.wraps(function)
        def run(**kwargs):
            token = _running.set(function.__qualname__)
            try:
                result = function(**kwargs)
            finally:
                _running.reset(token)
            record_write(kwargs[writer] if isinstance(writer, str) else writer(result))
            return result

        run.is_service = True
        return run  # type: ignore[return-value]

    return decorate


def running() -> str | None:
    """The name of the service running in this context, None outside any."""
    return _running.get()
