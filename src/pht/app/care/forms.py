"""Forms parse and check input field by field; the actions check the rules across fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from pht.app.accounts.models import PRACTICE_ROLES, AppRole, Practice
from pht.app.care.models import (
    ActivityKind,
    Band,
    Channel,
    ConditionChoice,
    Partner,
    RiskBand,
    TargetGroupChoice,
    TaskKind,
)

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def team_members(practice: Practice) -> Any:
    """Active users in a practice role of *practice*."""
    return (
        get_user_model()
        .objects.filter(is_active=True, profile__practice=practice)
        .filter(profile__role__in=[r.value for r in PRACTICE_ROLES])
        .select_related("profile")
        .order_by("first_name", "last_name", "username")
    )


class MemberChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """A team member, shown by name and role."""

    def label_from_instance(self, obj: Any) -> str:
        name = obj.get_full_name() or obj.get_username()
        role = obj.profile.get_role_display() if hasattr(obj, "profile") else ""
        return f"{name} ({role})" if role else name


def _practice_role_choices() -> list[tuple[str, Any]]:
    return [("", "—")] + [(r.value, r.label) for r in AppRole if r in PRACTICE_ROLES]


class WorklistFilter(forms.Form):
    """Filters of the worklist (all optional)."""

    q = forms.CharField(label=_("Søk (navn eller fødselsdato)"), required=False, max_length=100)
    target_group = forms.ChoiceField(
        label=_("Målgruppe"), required=False, choices=[("", _("alle")), *TargetGroupChoice.choices]
    )
    condition = forms.ChoiceField(
        label=_("Tilstand"), required=False, choices=[("", _("alle")), *ConditionChoice.choices]
    )
    risk_band = forms.ChoiceField(
        label=_("Risiko"), required=False, choices=[("", _("alle")), *RiskBand.choices]
    )
    frailty_band = forms.ChoiceField(
        label=_("Skrøpelighet"), required=False, choices=[("", _("alle")), *Band.choices]
    )
    overdue = forms.BooleanField(label=_("Årskontroll forfalt"), required=False)
    no_plan = forms.BooleanField(label=_("Uten plan"), required=False)
    member = MemberChoiceField(
        label=_("Teammedlem"), required=False, queryset=get_user_model().objects.none()
    )
    sort = forms.ChoiceField(
        label=_("Sorter"),
        required=False,
        choices=[("rank", _("prioritet")), ("risk", _("risiko")), ("name", _("navn"))],
    )

    def __init__(self, *args: Any, practice: Practice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = team_members(practice)


class PlanForm(forms.Form):
    """The follow-up plan."""

    goal = forms.CharField(
        label=_("Pasientens mål (med pasientens ord)"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    responsible = MemberChoiceField(
        label=_("Ansvarlig i teamet"), queryset=get_user_model().objects.none()
    )
    contact_interval_months = forms.IntegerField(
        label=_("Kontakt hver (måneder)"), min_value=1, max_value=24
    )
    next_due = forms.DateField(label=_("Neste kontakt"), widget=DATE_WIDGET)
    partners = forms.MultipleChoiceField(
        label=_("Samarbeidspartnere"),
        required=False,
        choices=Partner.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, practice: Practice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["responsible"].queryset = team_members(practice)


class TaskForm(forms.Form):
    """A new task or recall."""

    title = forms.CharField(label=_("Hva skal gjøres"), max_length=200)
    kind = forms.ChoiceField(label=_("Type"), choices=TaskKind.choices, initial=TaskKind.TASK)
    condition = forms.ChoiceField(
        label=_("Tilstand (årskontroll)"),
        required=False,
        choices=[("", "—"), *ConditionChoice.choices],
    )
    assigned_user = MemberChoiceField(
        label=_("Tildelt person"), required=False, queryset=get_user_model().objects.none()
    )
    assigned_role = forms.ChoiceField(
        label=_("eller rolle"), required=False, choices=_practice_role_choices
    )
    due = forms.DateField(label=_("Frist"), widget=DATE_WIDGET)

    def __init__(self, *args: Any, practice: Practice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assigned_user"].queryset = team_members(practice)


class CompleteForm(forms.Form):
    """Marking a task done."""

    note = forms.CharField(label=_("Merknad"), required=False, max_length=300)


class InvitationForm(forms.Form):
    """An invitation sent for a recall."""

    channel = forms.ChoiceField(label=_("Kanal"), choices=Channel.choices)
    sent_on = forms.DateField(label=_("Sendt"), widget=DATE_WIDGET)


class ActivityForm(forms.Form):
    """An activity to log."""

    kind = forms.ChoiceField(label=_("Aktivitet"), choices=ActivityKind.choices)
    date = forms.DateField(label=_("Dato"), widget=DATE_WIDGET)
    partner = forms.ChoiceField(
        label=_("Samarbeidspartner"), required=False, choices=[("", "—"), *Partner.choices]
    )
    condition = forms.ChoiceField(
        label=_("Tilstand (årskontroll)"),
        required=False,
        choices=[("", "—"), *ConditionChoice.choices],
    )
    note = forms.CharField(
        label=_("Notat"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )
