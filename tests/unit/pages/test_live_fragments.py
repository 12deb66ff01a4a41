"""Every live view re-checks the session before it refreshes (issue 15, finding 6): a page's
timed fragment goes through ``pages._ui.live``, never a bare ``st.fragment(run_every=...)``,
which would keep showing new data to an account that was disabled meanwhile."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _timed_fragments(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name == "fragment" and any(k.arg == "run_every" for k in node.keywords):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_live_fragments_check_the_session() -> None:
    files = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
    bare = [where for f in files for where in _timed_fragments(f)]
    # The one allowed: inside pages._ui.live itself.
    assert [w for w in bare if not w.startswith("pages/_ui.py")] == [], (
        "use @live(seconds) from pages._ui for a refreshing fragment:\n" + "\n".join(bare)
    )
    assert len([w for w in bare if w.startswith("pages/_ui.py")]) == 1
    uses = sum(f.read_text(encoding="utf-8").count("@live(") for f in files)
    assert uses >= 4  # the sidebar, the queue, the studio, the pipeline
