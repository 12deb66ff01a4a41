"""The import layers, read from the source (no module is imported): dependencies flow one way,

    app.py, pages/, api/  ->  desk  ->  db, detector, data_gen  ->  detector/common

so a front end reaches the database, the detector or the files through ``desk`` only, nothing
below ``desk`` imports it, ``detector/common`` (settings, i18n) imports nothing of the project,
the pure scoring core imports nothing that does I/O, and below ``desk`` imports go down the
ranks ``detector -> db -> data_gen -> pure core -> detector/common`` (no package cycle).  A
failure names the file, the line and the import.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = {"api", "app", "bench", "data_gen", "db", "desk", "detector", "pages", "tests"}
FRONT_ENDS = ("app.py", "serve.py", "pages", "api")
BELOW_DESK = ("data_gen", "db", "detector")
# Front ends draw; these are the drawing libraries a page may use besides the standard library.
PAGE_LIBRARIES = {"streamlit", "pandas", "plotly", "altair"}
# The pure core: event + state + rule set -> verdict.  No files, sockets, clocks or databases.
PURE_CORE = ("detector/rules.py", "detector/conditions.py", "detector/engine.py",
             "detector/state.py", "detector/events.py", "detector/errors.py")  # fmt: skip
PURE_STDLIB = {"__future__", "bisect", "collections", "dataclasses", "datetime", "enum",
               "functools", "hashlib", "itertools", "json", "math", "operator", "re", "typing",
               "zoneinfo"}  # fmt: skip


@dataclass(frozen=True)
class Import:
    file: str
    line: int
    module: str  # the full dotted name imported from, e.g. "desk" or "db.models"

    @property
    def top(self) -> str:
        return self.module.split(".")[0]

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.module}"


def _files(*where: str) -> Iterator[Path]:
    for w in where:
        p = ROOT / w
        if p.is_file():
            yield p
        elif p.is_dir():
            yield from sorted(p.rglob("*.py"))


def _imports(*where: str) -> list[Import]:
    out: list[Import] = []
    for path in _files(*where):
        rel = path.relative_to(ROOT).as_posix()
        package = rel.rsplit("/", 1)[0].replace("/", ".") if "/" in rel else ""
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), rel)):
            if isinstance(node, ast.Import):
                out.extend(Import(rel, node.lineno, a.name) for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: resolve against the file's package
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    name = ".".join([*base, node.module] if node.module else base)
                else:
                    name = node.module or ""
                out.append(Import(rel, node.lineno, name))
    return out


def _stdlib(top: str) -> bool:
    return top in sys.stdlib_module_names


def test_the_scan_sees_the_tree() -> None:
    # A scan that finds nothing would pass every rule below.
    tops = {i.top for i in _imports("pages", "desk", "db", "detector")}
    assert {"desk", "db", "detector", "streamlit", "sqlalchemy"} <= tops


def _front_end_may(i: Import) -> bool:
    front = i.file.split("/")[0]  # "app.py", "serve.py", "pages" or "api"
    if i.top in PROJECT:
        if i.module == "desk":
            return True
        if front == "api":
            return i.top == "api"
        return i.module.startswith("pages._")  # the pages' private helpers
    # the web libraries of the API and of the app's server (serve.py: the session cookie's
    # routes) are their own business; pages draw with a few libraries
    return front in ("api", "serve.py") or _stdlib(i.top) or i.top in PAGE_LIBRARIES


def test_front_ends_import_only_desk_and_drawing_libraries() -> None:
    bad = [str(i) for i in _imports(*FRONT_ENDS) if not _front_end_may(i)]
    assert bad == [], "front ends import `desk` only (from desk import ...):\n" + "\n".join(bad)


def test_nothing_below_desk_imports_desk_or_a_front_end() -> None:
    bad = [str(i) for i in _imports(*BELOW_DESK) if i.top in {"desk", "pages", "app", "api"}]
    assert bad == [], "imports against the flow:\n" + "\n".join(bad)


def test_desk_imports_no_front_end_and_no_ui_library() -> None:
    ui = {"pages", "app", "api", "streamlit", "fastapi", "plotly", "altair"}
    bad = [str(i) for i in _imports("desk") if i.top in ui]
    assert bad == [], "desk is the application layer, with no UI:\n" + "\n".join(bad)


def test_common_imports_nothing_of_the_project() -> None:
    bad = [
        str(i)
        for i in _imports("detector/common")
        if i.top in PROJECT and not i.module.startswith("detector.common")
    ]
    assert bad == [], "detector/common is the bottom layer:\n" + "\n".join(bad)


def test_the_pure_core_imports_nothing_with_io() -> None:
    # the catalogue is data: rule labels and hit explanations are looked up there
    pure = {p.removesuffix(".py").replace("/", ".") for p in PURE_CORE} | {"detector.common.i18n"}
    bad = [
        str(i)
        for i in _imports(*PURE_CORE)
        if not (i.module in pure or (i.top not in PROJECT and i.top in PURE_STDLIB))
    ]
    assert bad == [], "the scoring core must stay pure (no I/O, no other layer):\n" + "\n".join(bad)


def test_no_front_end_opens_a_database_session() -> None:
    # Pages read and act through desk functions; a session opened in a page is a query in
    # the wrong layer.
    bad = []
    for path in _files("app.py", "pages"):
        rel = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), rel)):
            if isinstance(node, ast.Call) and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "sessions")
                or (isinstance(node.func, ast.Name) and node.func.id in {"Session", "db_session"})
            ):
                bad.append(f"{rel}:{node.lineno}")
    assert bad == [], "a page opens a database session:\n" + "\n".join(bad)


def test_front_ends_pass_the_handle_they_hold() -> None:
    # Every desk use case takes the one kind of handle (desk.Handle: the Runtime, the
    # ApiRuntime, the web routes' backend); a front end that reaches into it for a session
    # factory is choosing the use case's transactions for it.
    bad = []
    for path in _files(*FRONT_ENDS):
        rel = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), rel)):
            if isinstance(node, ast.Attribute) and node.attr in {"sessions", "lookups"}:
                bad.append(f"{rel}:{node.lineno}: .{node.attr}")
    assert bad == [], "pass the handle itself to desk:\n" + "\n".join(bad)


# Below desk the packages are ranked; an import goes down the ranks only, so there is no cycle
# among them.  The pure core (``PURE_CORE``: the types the others store, generate and score)
# and ``detector/common`` are nodes of their own: they import nothing above them (checked
# above), which is what lets ``db`` store a ``Verdict`` and ``data_gen`` run the engine while
# the detector's service writes to ``db`` and reads datasets through ``data_gen``.
RANK = {"detector": 4, "db": 3, "data_gen": 2, "detector.core": 1, "detector.common": 0}


def _node(module: str) -> str | None:
    """The ranked node of a dotted module name, None outside ``detector``/``db``/``data_gen``."""
    if module == "detector.common" or module.startswith("detector.common."):
        return "detector.common"
    if module in {p.removesuffix(".py").replace("/", ".") for p in PURE_CORE}:
        return "detector.core"
    top = module.split(".")[0]
    return top if top in RANK else None


def _ranked_edges(imports: list[Import] | None = None) -> dict[tuple[str, str], bool]:
    """``{(file, module): goes up the ranks}`` for every import between two ranked nodes
    (of the tree below desk, or of ``imports``)."""
    out = {}
    for i in _imports(*BELOW_DESK) if imports is None else imports:
        src = _node(i.file.removesuffix(".py").replace("/", ".").removesuffix(".__init__"))
        dst = _node(i.module)
        if src and dst and src != dst:
            out[(i.file, i.module)] = RANK[src] < RANK[dst]
    return out


def test_packages_below_desk_import_down_the_ranks_only() -> None:
    upward = sorted(edge for edge, up in _ranked_edges().items() if up)
    assert upward == [], "an import against the ranks closes a package cycle:\n" + "\n".join(
        f"{f}: {m}" for f, m in upward
    )


def test_the_ranks_see_both_kinds_of_edges() -> None:
    # A scan that finds no edge, or ranks that call everything "down", would pass the above.
    edges = _ranked_edges()
    assert edges[("db/detector_store.py", "detector.engine")] is False  # storage of a core type
    assert edges[("detector/service.py", "db.detector_store")] is False
    # none goes up in the tree any more: ones that would, as the rule above must see them
    upward = [Import("db/archive.py", 1, "detector.codec"),
              Import("data_gen/stream.py", 1, "db.models"),
              Import("detector/engine.py", 1, "data_gen.feed")]  # fmt: skip
    assert set(_ranked_edges(upward).values()) == {True}


ALERT_TABLES = {"Alert", "AlertReason", "AlertDecision"}
SQL_BUILDERS = {"select", "delete", "update", "insert", "text", "func", "tuple_", "exists"}


def test_alert_queries_live_in_db() -> None:
    # SQL about alerts has one home, ``db`` (``db.alerts``, ``db.alert_counts``): desk composes
    # those queries.  A desk module that imports an alert table and a statement builder is
    # writing one.
    bad = []
    for path in _files("desk"):
        rel = path.relative_to(ROOT).as_posix()
        tables, builders = set(), set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), rel)):
            if isinstance(node, ast.ImportFrom) and node.module == "db.models":
                tables |= {a.name for a in node.names} & ALERT_TABLES
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                builders |= {a.name for a in node.names} & SQL_BUILDERS
        if tables and builders:
            bad.append(f"{rel}: {sorted(tables)} with {sorted(builders)}")
    assert bad == [], "alert queries belong in db (db.alerts):\n" + "\n".join(bad)
