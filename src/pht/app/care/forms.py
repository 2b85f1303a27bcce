"""Forms parse and check input field by field; the actions check the rules across fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from pht.app.accounts.models import PRACTICE_ROLES, AppRole, Practice
from pht.app.care import checks
from pht.app.care.models import (
    ActivityKind,
    Band,
    Channel,
    ConditionChoice,
    MessageDirection,
    Partner,
    PlanEndReason,
    RiskBand,
    TargetGroupChoice,
    TaskKind,
    TaskStatus,
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

    q = forms.CharField(
        label=_("Søk (navn, fødselsdato eller fødselsnummer)"), required=False, max_length=100
    )
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
    overdue = forms.BooleanField(
        label=_("Årskontroll forfalt (for valgt tilstand)"), required=False
    )
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
    who_to_call = forms.CharField(
        label=_("Hvem pasienten kan ringe (navn og telefon)"), required=False, max_length=200
    )
    #: the plan's version when the form was shown: a change saved meanwhile is not overwritten
    version = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

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
    participants = forms.CharField(
        label=_("Deltakere (samarbeidsmøte), én per linje"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    note = forms.CharField(
        label=_("Notat"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_participants(self) -> list[str]:
        raw = self.cleaned_data.get("participants") or ""
        return [x.strip() for x in raw.replace(";", "\n").splitlines() if x.strip()]


class AssignForm(forms.Form):
    """Give a task to another member or role (the team's task inbox)."""

    assigned_user = MemberChoiceField(
        label=_("Gi til person"), required=False, queryset=get_user_model().objects.none()
    )
    assigned_role = forms.ChoiceField(
        label=_("eller rolle"), required=False, choices=_practice_role_choices
    )

    version = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args: Any, practice: Practice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assigned_user"].queryset = team_members(practice)


RECALL_DUE_CHOICES = [
    ("", _("alle")),
    ("overdue", _("forfalt")),
    ("month", _("forfaller denne måneden")),
    ("later", _("senere")),
]


class RecallFilter(forms.Form):
    """Filters of the recall register."""

    condition = forms.ChoiceField(
        label=_("Tilstand"), required=False, choices=[("", _("alle")), *ConditionChoice.choices]
    )
    due = forms.ChoiceField(label=_("Frist"), required=False, choices=RECALL_DUE_CHOICES)
    invitations = forms.ChoiceField(
        label=_("Innkallinger sendt"),
        required=False,
        choices=[("", _("alle")), ("0", "0"), ("1", "1"), ("2", "2"), ("3", "3")],
    )
    sort = forms.ChoiceField(
        label=_("Sorter"),
        required=False,
        choices=[("due", _("frist")), ("name", _("navn")), ("invitations", _("innkallinger"))],
    )


class BatchInviteForm(forms.Form):
    """Invite the selected recalls in one action."""

    tasks = forms.TypedMultipleChoiceField(label=_("Innkallinger"), coerce=int, choices=[])
    channel = forms.ChoiceField(
        label=_("Kanal"),
        choices=[(c.value, c.label) for c in (Channel.LETTER, Channel.SMS, Channel.EMAIL)],
    )
    sent_on = forms.DateField(label=_("Dato"), widget=DATE_WIDGET)

    def __init__(self, *args: Any, task_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from pht.app.care.sending import available

        self.fields["tasks"].choices = [(i, str(i)) for i in task_ids]
        self.fields["channel"].choices = [(c, Channel(c).label) for c in available()]


class CloseRecallForm(forms.Form):
    """Close a recall without the check."""

    status = forms.ChoiceField(
        label=_("Lukk som"),
        choices=[(s.value, s.label) for s in (TaskStatus.NO_ANSWER, TaskStatus.DECLINED)],
    )
    note = forms.CharField(label=_("Merknad"), required=False, max_length=300)


class PlanContactForm(forms.Form):
    """The plan's planned contact was held."""

    date = forms.DateField(label=_("Dato for kontakten"), widget=DATE_WIDGET)
    note = forms.CharField(
        label=_("Notat"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2})
    )


class PlanReviewForm(forms.Form):
    """A review of the plan."""

    date = forms.DateField(label=_("Dato"), widget=DATE_WIDGET)
    went_well = forms.CharField(
        label=_("Hva gikk bra"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    new_goal = forms.CharField(
        label=_("Nytt mål (med pasientens ord)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class PlanEndForm(forms.Form):
    """Ending the plan."""

    reason = forms.ChoiceField(label=_("Grunn"), choices=PlanEndReason.choices)
    date = forms.DateField(label=_("Dato"), widget=DATE_WIDGET)


class ThreadForm(forms.Form):
    """A new coordination thread."""

    partner = forms.ChoiceField(label=_("Samarbeidspartner"), choices=Partner.choices)
    subject = forms.CharField(label=_("Emne"), max_length=200)
    text = forms.CharField(
        label=_("Melding"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )


class MessageForm(forms.Form):
    """A message sent or received in a thread."""

    direction = forms.ChoiceField(label=_("Retning"), choices=MessageDirection.choices)
    on = forms.DateField(label=_("Dato"), widget=DATE_WIDGET)
    text = forms.CharField(
        label=_("Melding"), max_length=4000, widget=forms.Textarea(attrs={"rows": 2})
    )


_YES_NO = [("", "—"), ("ja", _("ja")), ("nei", _("nei"))]


class AnnualCheckForm(forms.Form):
    """A structured annual check; its fields come from the condition's items in reference data
    and its values are checked by :func:`pht.app.care.checks.clean_values` (as in the API)."""

    date = forms.DateField(label=_("Dato for kontrollen"), widget=DATE_WIDGET)

    def __init__(self, *args: Any, condition: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.condition = condition
        self.spec = checks.spec(condition)
        for item in self.spec.items:
            label = f"{item.label()} ({item.unit})" if item.unit else item.label()
            if item.kind == "number":
                field: forms.Field = forms.CharField(
                    label=label,
                    required=False,
                    max_length=20,
                    widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
                )
            elif item.kind == "yesno":
                field = forms.ChoiceField(label=label, required=False, choices=_YES_NO)
            else:
                field = forms.ChoiceField(
                    label=label,
                    required=False,
                    choices=[("", "—"), *((c[0], item.choice_label(c[0])) for c in item.choices)],
                )
            if item.required:
                field.widget.attrs["aria-required"] = "true"
                field.label = f"{label} *"
            self.fields[f"v_{item.key}"] = field
        self.fields["note"] = forms.CharField(
            label=_("Notat"),
            required=False,
            max_length=4000,
            widget=forms.Textarea(attrs={"rows": 2}),
        )

    def values(self) -> dict[str, Any]:
        """The raw item values (prefix stripped)."""
        return {
            k[2:]: v for k, v in self.cleaned_data.items() if k.startswith("v_") and v not in ("",)
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        try:
            checks.clean_values(self.condition, self.values())
        except checks.CheckValueError as err:
            self.add_error(
                f"v_{err.field}" if f"v_{err.field}" in self.fields else None, err.message
            )
        return data
