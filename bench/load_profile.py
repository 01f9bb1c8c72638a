"""Where the web and task processes spend their CPU during a load window: py-spy's
samples (``py-spy record --format raw``), summed by what the code is (templates, the ORM,
the database driver, encryption, password hashing...), by view, and by function.

py-spy is not a dependency of the project: ``bench/load.py --profile`` uses the
``py-spy`` found on PATH or given with ``--py-spy`` (``pip install --target DIR py-spy``
puts one in ``DIR/bin``). It samples without stopping the processes (``--nonblocking``);
only samples of threads holding the GIL are kept (running Python or a C extension that
keeps the GIL), so the shares are close to shares of CPU time; waits for the database or
for a core are left out.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

#: What a sample's innermost frame is, by its file's path (the first match counts).
CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("password hashing (argon2)", ("argon2",)),
    ("PDF, signatures (weasyprint, pyhanko)", ("weasyprint", "pyhanko", "pydyf", "fontTools")),
    (
        "templates and forms (Django)",
        ("django/template", "django/templatetags", "django/forms/", "django/utils/html"),
    ),
    ("ORM and SQL compiler (Django)", ("django/db/",)),
    ("database driver (psycopg)", ("psycopg",)),
    ("encryption (cryptography)", ("cryptography",)),
    ("translations (Django, Babel)", ("django/utils/translation", "babel/", "gettext")),
    ("URL resolving (Django)", ("django/urls",)),
    ("logs and metrics", ("pythonjsonlogger", "logging/", "prometheus_client")),
    ("allauth", ("allauth/",)),
    ("other Django", ("django/",)),
    ("ecitizen's own code", ("ecitizen/",)),
    ("gunicorn, sockets", ("gunicorn/", "socket", "selectors", "ssl.py")),
    ("other libraries", ("site-packages/",)),
    ("Python standard library", ("/lib/python3",)),
]
FRAME = re.compile(r"^(?P<function>.*?) \((?P<path>[^()]*)\)$")
VIEW = re.compile(r"/ecitizen/(?P<module>[\w/]+?)/(?:\w*views|api|feeds)\.py$")


def find_py_spy(given: str | None) -> str:
    found = given or shutil.which("py-spy")
    if not found or not Path(found).exists():
        raise SystemExit(
            "--profile needs py-spy: pip install --target /tmp/pyspy py-spy, then "
            "--py-spy /tmp/pyspy/bin/py-spy"
        )
    return found


def start(py_spy: str, pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    """Sample ``pid`` and its children for ``seconds`` into ``out`` (raw stacks)."""
    return subprocess.Popen(  # noqa: S603 - a path the user gave or on PATH
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--nonblocking",
            # Only threads holding the GIL: running Python, not waiting for the database
            # or, on a busy machine, for a core.
            "--gil",
            "--full-filenames",
            "--nolineno",
            "--rate",
            "50",
            "--duration",
            str(max(1, int(seconds))),
            "--format",
            "raw",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _frames(stack: str) -> list[tuple[str, str]]:
    frames = []
    for frame in stack.split(";"):
        match = FRAME.match(frame)
        if match:
            frames.append((match.group("function"), match.group("path")))
    return frames


def _category(path: str) -> str:
    for name, needles in CATEGORIES:
        if any(needle in path for needle in needles):
            return name
    return "other"


def _short(path: str) -> str:
    for marker in ("site-packages/", "/src/", "/lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def summarise(raw: Path) -> dict[str, Any]:
    """Shares of the samples: by category of the innermost frame, by view (the outermost
    frame in an ecitizen ``views``/``api``/``feeds`` module, else the middleware), and by
    innermost function."""
    categories: Counter[str] = Counter()
    views: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    total = 0
    if not raw.exists():
        return {"samples": 0}
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = _frames(stack)
        if not frames:
            continue
        total += count
        function, path = frames[-1]
        categories[_category(path)] += count
        functions[f"{function} ({_short(path)})"] += count
        view = next(
            (
                f"{match.group('module').replace('/', '.')}.{name}"
                for name, where in frames
                if (match := VIEW.search(where))
            ),
            None,
        )
        if view is None:
            view = next(
                (
                    f"task: {name}"
                    for name, where in frames
                    if "/ecitizen/" in where and where.endswith("tasks.py")
                ),
                "outside a view (middleware, server, worker loop)",
            )
        views[view] += count

    def shares(counter: Counter[str], top: int) -> list[tuple[str, float]]:
        return [(name, count / total) for name, count in counter.most_common(top)]

    return {
        "samples": total,
        "categories": shares(categories, 20),
        "views": shares(views, 15),
        "functions": shares(functions, 15),
    }


def report(title: str, summary: dict[str, Any], say: Any) -> None:
    if not summary.get("samples"):
        say(f"{title}: no samples")
        return
    say(f"{title} ({summary['samples']} samples holding the GIL):")
    say("  by what the innermost frame is:")
    for name, share in summary["categories"]:
        if share >= 0.01:
            say(f"    {share:6.1%}  {name}")
    say("  by view or task (inclusive):")
    for name, share in summary["views"][:10]:
        say(f"    {share:6.1%}  {name}")
    say("  by innermost function:")
    for name, share in summary["functions"][:10]:
        say(f"    {share:6.1%}  {name[:100]}")
