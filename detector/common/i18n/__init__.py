"""Every user-facing word, in French and English: one catalogue, one shape, one look-up.

Each area module (``frame``, ``accounts``, ``queue``, ``insights``, ``tuning``, ``studio``,
``rules``, ``report``, ``datasets``, ``check``) holds ``TEXT: {key: (fr, en)}``, so both
languages sit side by side; :data:`CATALOGUE` is their union (a key belongs to one area).  The
catalogue lives at the bottom layer because the detector's rule labels, hit explanations and
command-line report use it as much as the pages do.  ``tests/unit/detector/common/test_i18n.py``
checks that each key is used, each text appears once, and format fields agree between the
languages.
"""

from __future__ import annotations

from detector.common.i18n import (
    accounts,
    check,
    datasets,
    frame,
    insights,
    queue,
    report,
    rules,
    studio,
    tuning,
)

LANGS: tuple[str, ...] = ("fr", "en")
DEFAULT_LANG = "fr"  # the reference dashboard was French

AREAS = (frame, accounts, queue, insights, tuning, studio, rules, report, datasets, check)


def _union() -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for area in AREAS:
        clash = out.keys() & area.TEXT.keys()
        if clash:
            raise ValueError(f"i18n keys in two areas ({area.__name__}): {sorted(clash)}")
        out.update(area.TEXT)
    return out


CATALOGUE: dict[str, tuple[str, str]] = _union()


def text(key: str, lang: str, **fmt: object) -> str:
    """The text of ``key`` in ``lang`` (English for an unknown language; the key itself for an
    unknown key, so a gap shows but never breaks a page), formatted with ``fmt``."""
    pair = CATALOGUE.get(key)
    if pair is None:
        return key
    template = pair[0] if lang == "fr" else pair[1]
    if not fmt:
        return template
    try:
        return template.format(**fmt)
    except (KeyError, IndexError, ValueError):
        return template
