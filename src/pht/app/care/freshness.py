"""Keep cached worklist tables honest: change a practice's data version with every change.

The rendered worklist table is cached per practice, filters, page, language and the practice's
``data_version`` (:class:`pht.app.accounts.models.Practice`). Anything the table shows or
filters on lives in :class:`Patient` or :class:`FollowUpPlan`; saving or deleting one of them
gives the patient's practice a fresh version *in the same transaction*, so the next request —
the nurse's own, right after her change — misses the cache and reads the database. Tasks count
only for the filter by team member, whose cache key holds that member's open tasks instead
(:func:`pht.app.care.views.worklist_table`): a task saved does not empty every cached list of
the practice (nurses save tasks all day). The filter bar lists the practice's team, so a change
of a user or a profile gives every practice a fresh version (rare; a login only touches
``last_login`` and does not). Bulk writes bypass these signals: the loader calls :func:`bump`
itself. The practice dashboard's figures are cached by the same version
(:mod:`pht.app.dashboards.figures`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save

from pht.app.accounts.models import Practice, Profile, new_data_version
from pht.app.care.models import FollowUpPlan, Patient


def bump(practice_ids: Iterable[str] | None = None) -> None:
    """Give the practices *practice_ids* (all practices when None) a fresh data version."""
    qs = Practice.objects.all()
    if practice_ids is not None:
        qs = qs.filter(pk__in=list(practice_ids))
    qs.update(data_version=new_data_version())


def _patient_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    bump([instance.practice_id])


def _record_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    patient = instance._state.fields_cache.get("patient")
    if patient is not None:
        bump([patient.practice_id])
    else:
        Practice.objects.filter(patients__id=instance.patient_id).update(
            data_version=new_data_version()
        )


def _team_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    bump()


def connect() -> None:
    """Connect the signals (called once from the app config)."""
    for name, signal in (("save", post_save), ("delete", post_delete)):
        signal.connect(_patient_changed, sender=Patient, dispatch_uid=f"pht-fresh-patient-{name}")
        signal.connect(
            _record_changed, sender=FollowUpPlan, dispatch_uid=f"pht-fresh-FollowUpPlan-{name}"
        )
        for team in (get_user_model(), Profile):
            signal.connect(
                _team_changed, sender=team, dispatch_uid=f"pht-fresh-{team.__name__}-{name}"
            )
