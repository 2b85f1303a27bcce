"""The app is served warm: gunicorn preloads it, and loading it warms what a first request would
load lazily (URLs and views, templates, catalogues, reference data)."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

from django.template import engines

from pht.app.project import warmup
from pht.cli.web import gunicorn_args

ROOT = Path(__file__).resolve().parents[2]


def test_every_way_of_serving_preloads_the_app() -> None:
    args = gunicorn_args(bind="127.0.0.1:8000", workers=3, threads=4)
    assert args[0] == "pht.app.project.wsgi:application"
    assert "--preload" in args
    assert args[args.index("--workers") + 1] == "3"
    deploy = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    assert deploy["preload_app"] is True
    assert deploy["wsgi_app"] == args[0]
    for bench in ("bench_users.py", "bench_app.py"):
        assert "gunicorn_args(" in (ROOT / "bench" / bench).read_text()


def test_the_wsgi_module_warms_the_app(monkeypatch: Any) -> None:
    import sys

    called: list[bool] = []
    monkeypatch.setattr(warmup, "warm", lambda: called.append(True) or {})
    monkeypatch.delitem(sys.modules, "pht.app.project.wsgi", raising=False)
    import pht.app.project.wsgi  # noqa: F401

    assert called == [True]


def test_warming_compiles_the_apps_templates_and_reads_no_database() -> None:
    # no `db` fixture: any database access would fail the test
    engine = engines["django"]
    took = warmup.warm()
    assert took["templates"] >= 40  # every page's template and its parts
    assert took["form templates"] >= 20  # the widgets of Django's form renderer
    loader = engine.engine.template_loaders[0]
    cached = getattr(loader, "get_template_cache", {})
    for name in (
        "care/patient.html",
        "care/due_list.html",
        "dashboards/practice.html",
        "base.html",
    ):
        assert name in cached
