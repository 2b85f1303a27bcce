"""The page of the practice's system clients (API credentials): list, register, revoke.

For the practice's team lead (``clients.manage`` in the permission table) and superusers, who
see every practice's. Every change goes through :mod:`pht.app.accounts.actions` (checked and
audited there); a new client's secret is shown once, on the answer to the registration, and
is stored only hashed.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from pht.app.accounts import actions
from pht.app.accounts.access import profile_of
from pht.app.accounts.models import Practice, SystemClient
from pht.app.accounts.permissions import Action, require, table
from pht.core.errors import PhtError


def scope_choices() -> list[tuple[str, str]]:
    """The scopes a system may be given, with their Norwegian descriptions."""
    return [(name, s.description) for name, s in table().scopes.items()]


class SystemClientForm(forms.Form):
    """A new system: its name, what it may do, and (for a superuser) its practice."""

    name = forms.CharField(
        label=_("Navn på systemet"),
        max_length=64,
        help_text=_("1–64 bokstaver (a–z), sifre, punktum, bindestrek eller understrek."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Hva systemet får gjøre"),
        choices=scope_choices,
        widget=forms.CheckboxSelectMultiple,
    )
    practice = forms.ModelChoiceField(
        label=_("Legekontor"), queryset=Practice.objects.order_by("name"), required=False
    )

    def __init__(self, *args: Any, choose_practice: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if choose_practice:
            self.fields["practice"].required = True
        else:
            del self.fields["practice"]

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if not actions.CLIENT_NAME.match(name):
            raise forms.ValidationError(
                _("Bruk 1–64 bokstaver (a–z), sifre, punktum, bindestrek eller understrek.")
            )
        return name


class RevokeForm(forms.Form):
    """Revoking a system, with the reason."""

    name = forms.CharField(widget=forms.HiddenInput, max_length=64)
    reason = forms.CharField(label=_("Begrunnelse"), max_length=200)


def _scope(request: HttpRequest) -> Any:
    """The practice whose systems the user manages (None: a superuser, every practice's)."""
    if request.user.is_superuser and request.user.is_active:
        return None
    profile = profile_of(request.user)
    practice_id = profile.practice_id if profile is not None else None
    require(
        request.user,
        Action.MANAGE_CLIENTS,
        practice_id=practice_id,
        request=request,
        what={"view": "systems"},
    )
    if profile is None or profile.practice is None:  # the table allows it only with a practice
        raise PermissionDenied
    return profile.practice


def _page(
    request: HttpRequest,
    practice: Any,
    *,
    form: SystemClientForm | None = None,
    created: Any = None,
    revoke_errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    clients = SystemClient.objects.select_related("practice").order_by("-active", "name")
    if practice is not None:
        clients = clients.filter(practice=practice)
    labels = dict(scope_choices())
    rows = [
        {
            "client": c,
            "scopes": [labels.get(s, s) for s in c.scope_list()],
            "revoke_form": RevokeForm(initial={"name": c.name}, auto_id=f"id_%s_{c.pk}"),
            "error": (revoke_errors or {}).get(c.name),
        }
        for c in clients
    ]
    return render(
        request,
        "accounts/systems.html",
        {
            "practice": practice,
            "rows": rows,
            "form": form or SystemClientForm(choose_practice=practice is None),
            "created": created,
        },
        status=status,
    )


@login_required
def systems(request: HttpRequest) -> HttpResponse:
    """The systems of the practice (every practice's for a superuser); POST registers one and
    shows its secret once."""
    practice = _scope(request)
    if request.method != "POST":
        return _page(request, practice)
    form = SystemClientForm(request.POST, choose_practice=practice is None)
    if not form.is_valid():
        return _page(request, practice, form=form, status=422)
    target = practice or form.cleaned_data["practice"]
    try:
        created = actions.do_create_system_client(
            name=form.cleaned_data["name"],
            practice=target,
            scopes=list(form.cleaned_data["scopes"]),
            user=request.user,
            request=request,
        )
    except PhtError:
        form.add_error("name", _("Det finnes allerede et system med dette navnet."))
        return _page(request, practice, form=form, status=422)
    return _page(request, practice, created=created)


@login_required
@require_POST
def system_revoke(request: HttpRequest) -> HttpResponse:
    """Revoke a system of the practice (its tokens stop working at once)."""
    practice = _scope(request)
    form = RevokeForm(request.POST)
    if not form.is_valid():
        name = str(request.POST.get("name", ""))
        return _page(
            request, practice, revoke_errors={name: str(_("Skriv en begrunnelse."))}, status=422
        )
    name = form.cleaned_data["name"]
    if not SystemClient.objects.filter(
        name=name, **({} if practice is None else {"practice": practice})
    ).exists():
        raise Http404  # another practice's system: as if it did not exist (audited as refused)
    try:
        actions.do_revoke_system_client(
            name=name, reason=form.cleaned_data["reason"], user=request.user, request=request
        )
    except PhtError:
        return _page(
            request,
            practice,
            revoke_errors={name: str(_("Systemet er allerede trukket tilbake."))},
            status=422,
        )
    return redirect("accounts:systems")
