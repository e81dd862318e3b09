"""What every ``escalade`` command shares: one-line errors, and the runtime.

Every error the admin can cause is one line on stderr naming the option (or file) and what is
wrong, exit code 2 for bad input and 1 for a failure elsewhere; never a traceback
(``EscaladeGroup``). Commands that need the database ask ``runtime_of`` for the runtime: the
one the caller passed as the context's ``obj`` (tests do), else one built from the config
once per command and closed when it ends.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from integration.errors import ConfigurationError, EscaladeError, ValidationError

if TYPE_CHECKING:
    from integration.matrix import MatrixError
    from integration.runtime import Runtime

__all__ = ["BadInput", "EscaladeGroup", "bad_input", "matrix_input", "read_lines", "runtime_of"]


def runtime_of(ctx: click.Context) -> Runtime:
    """The runtime of this command: the caller's (``obj``), else built from the config once."""
    root = ctx.find_root()
    if root.obj is None:
        from sqlalchemy.exc import ArgumentError

        from integration.config import load_config
        from integration.runtime import Runtime

        config = load_config()
        try:
            runtime = Runtime(config=config)
        except ArgumentError as err:
            raise ConfigurationError(f"ESCALADE_DATABASE_URL: {err}") from err
        root.obj = runtime
        # Close pooled connections when the command ends, not when the process is collected.
        root.call_on_close(runtime.engine.dispose)
    return cast("Runtime", root.obj)


class BadInput(click.ClickException):
    """Bad input (an option's value, a file's line): exits 2 like click's own usage errors."""

    exit_code = 2


def bad_input(err: ValidationError, flags: Mapping[str, str] | None = None) -> click.ClickException:
    """A ``ValidationError`` as one CLI line naming the option: ``--api-token: ...``."""
    field = err.field
    if field.startswith("options."):
        where = f"--option {field.removeprefix('options.')}"
    else:
        where = (flags or {}).get(field) or (flags or {}).get(field.split(".")[0]) or field
    line = f"line {err.line}: " if err.line is not None else ""
    return BadInput(f"{where}: {line}{err.message}")


def matrix_input(option: str, path: str, err: MatrixError) -> BadInput:
    """A matrix file given as an option that cannot be used: its first problem, one line.

    The rest are counted; ``escalade matrix check`` lists them.
    """
    issues = [str(issue) for issue in err.issues] or [str(err)]
    more = (f" (and {len(issues) - 1} more: escalade matrix check {path})"
            if len(issues) > 1 else "")
    return BadInput(f"{option}: {issues[0]}{more}")


def read_lines(path: str) -> list[str]:
    """The lines of a UTF-8 text file; a file that cannot be read is one line naming it."""
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise BadInput(f"{path}: cannot read: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise BadInput(f"{path}: cannot read: not UTF-8 text ({err.reason} at byte "
                       f"{err.start})") from err


def _one_line(text: str) -> str:
    return " ".join(text.split())


class EscaladeGroup(click.Group):
    """The root command: errors are one line (usage included), never a traceback."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        """Run the command; in standalone mode every error becomes one line on stderr."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as err:
            where = f" (see {err.ctx.command_path} --help)" if err.ctx is not None else ""
            _fail(err.format_message() + where, err.exit_code)
        except click.ClickException as err:
            _fail(err.format_message(), err.exit_code)
        except click.Abort:
            _fail("aborted", 1)
        except ValidationError as err:
            _fail(bad_input(err).format_message(), 2)
        except EscaladeError as err:
            _fail(str(err), 2 if isinstance(err, ConfigurationError) else 1)
        except _database_errors() as err:
            _fail(_database_message(err), 1)
        except OSError as err:
            if err.errno == errno.EPIPE:
                sys.exit(1)
            _fail(f"{getattr(err, 'filename', None) or 'system'}: {err.strerror or err}", 1)
        sys.exit(result if isinstance(result, int) else 0)


def _fail(message: str, code: int) -> None:
    click.echo(f"Error: {_one_line(message)}", err=True)
    sys.exit(code)


def _database_errors() -> tuple[type[Exception], ...]:
    from sqlalchemy.exc import OperationalError, ProgrammingError

    return (OperationalError, ProgrammingError)


def _database_message(err: Exception) -> str:
    original = str(getattr(err, "orig", None) or err).splitlines()[0]
    if "no such table" in original or "does not exist" in original:
        return f"the database has no tables yet ({original}): run `escalade db upgrade`"
    return f"database: {original} (check ESCALADE_DATABASE_URL, then `escalade db upgrade`)"
