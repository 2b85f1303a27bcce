"""Load at boot what the app would otherwise load on its first request.

Django imports the URLs (and with them every view and pandas, altair, SciPy, statsmodels...),
compiles each template, reads the translation catalogues and the reference data (code lists,
the permission table, rules) lazily, on the first request that needs them: several seconds of
CPU for the first page a fresh worker serves, and again after a worker is replaced. The WSGI
module calls :func:`warm` when it is imported, so a worker is warm before it accepts a request,
and under gunicorn's ``--preload`` (``pht app serve``, ``deploy/gunicorn.conf.py``, the load
benchmark) the master loads it all once and every worker it forks, at start or after a crash,
starts warm.

It reads no database: a connection opened in the master would be shared by the forked workers.
"""

from __future__ import annotations

import time
from pathlib import Path


def _templates() -> int:
    """Compile every template of the app (the cached loader keeps them for the process)."""
    from django.template import engines
    from django.template.backends.django import DjangoTemplates
    from django.template.exceptions import TemplateDoesNotExist, TemplateSyntaxError

    count = 0
    for engine in engines.all():
        if not isinstance(engine, DjangoTemplates):
            continue
        for folder in engine.template_dirs:
            root = Path(folder)
            if "pht" not in root.parts:  # the app's own, not the libraries'
                continue
            for path in sorted(root.rglob("*.html")) + sorted(root.rglob("*.txt")):
                try:
                    engine.get_template(path.relative_to(root).as_posix())
                except (TemplateDoesNotExist, TemplateSyntaxError):
                    continue
                count += 1
    return count


def _form_templates() -> int:
    """Compile the widget templates of Django's form renderer (a form renders each field, and
    each option of a choice, with its own template, in an engine of the renderer's own)."""
    import django.forms
    from django.forms.renderers import get_default_renderer
    from django.template.exceptions import TemplateDoesNotExist

    renderer = get_default_renderer()
    root = Path(django.forms.__file__).parent / "templates"
    count = 0
    for path in sorted((root / "django" / "forms").rglob("*.html")):
        try:
            renderer.get_template(path.relative_to(root).as_posix())
        except TemplateDoesNotExist:
            continue
        count += 1
    return count


def _reference_data() -> None:
    """The reference data the pages read (each is cached for the process on first use)."""
    from pht.app.accounts.permissions import table
    from pht.app.care import checks, codes
    from pht.reference import load_scheme_rules
    from pht.reference.codes import icd10_codes, icpc2_codes
    from pht.reference.quality import load_quality_catalogue
    from pht.reference.staffing import load_need_parameters
    from pht.reference.surveys import instruments

    table()
    checks.specs()
    icpc2_codes()
    icd10_codes()
    codes.code_text("2ad", "tariff")
    load_scheme_rules()
    load_quality_catalogue()
    load_need_parameters()
    instruments()


def _translations() -> None:
    """Read the translation catalogue of every language the app offers."""
    from django.conf import settings
    from django.utils import translation

    for code, _ in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("Primærhelseteam")


def warm() -> dict[str, float]:
    """Import the URLs and views, read the catalogues and reference data, compile the
    templates; the seconds each took."""
    from django.db import connections
    from django.urls import get_resolver

    took: dict[str, float] = {}
    t = time.perf_counter()
    get_resolver().url_patterns  # noqa: B018 (imports every view)
    took["urls"] = time.perf_counter() - t
    t = time.perf_counter()
    _translations()
    took["translations"] = time.perf_counter() - t
    t = time.perf_counter()
    _reference_data()
    took["reference data"] = time.perf_counter() - t
    t = time.perf_counter()
    took["templates"] = float(_templates())
    took["form templates"] = float(_form_templates())
    took["templates s"] = time.perf_counter() - t
    for conn in connections.all(initialized_only=True):
        # nothing above should have opened one; a forked worker must not share one
        if conn.connection is not None and not conn.in_atomic_block:
            conn.close()
    return took
