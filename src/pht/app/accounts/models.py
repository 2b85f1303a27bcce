"""Organisations (municipalities, practices, practitioners) and each user's role in one of them.

A user has exactly one :class:`Profile` with a role. Practice roles (GP team lead, GP, nurse,
health secretary, psychologist) belong to one practice and see that practice's patients only.
The municipal project lead belongs to a municipality; the directorate's case officer and analyst
belong to none. Neither of these three sees patient-level data.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class AppRole(models.TextChoices):
    """Roles of the web app's users."""

    GP_TEAM_LEAD = "gp_team_lead", _("fastlege, teamleder")
    GP = "gp", _("fastlege")
    NURSE = "nurse", _("sykepleier")
    SECRETARY = "secretary", _("helsesekretær")
    PSYCHOLOGIST = "psychologist", _("psykolog")
    MUNICIPAL_LEAD = "municipal_lead", _("kommunal prosjektleder")
    CASE_OFFICER = "case_officer", _("saksbehandler, direktoratet")
    ANALYST = "analyst", _("analytiker, direktoratet")


#: Roles that work in a practice and see its patients.
PRACTICE_ROLES = frozenset(
    {AppRole.GP_TEAM_LEAD, AppRole.GP, AppRole.NURSE, AppRole.SECRETARY, AppRole.PSYCHOLOGIST}
)
#: The role of a system client's service user (not a person's role, so not an AppRole: tasks
#: are never given to it).
SYSTEM_ROLE = "system"
#: A profile's roles: the people's and the systems'.
PROFILE_ROLE_CHOICES = [*AppRole.choices, (SYSTEM_ROLE, _("system (API-klient)"))]
#: Roles without patient-level access.
AGGREGATE_ROLES = frozenset({AppRole.MUNICIPAL_LEAD, AppRole.CASE_OFFICER, AppRole.ANALYST})


class Municipality(models.Model):
    """A municipality (kommune)."""

    code = models.CharField(_("kommunenummer"), max_length=4, primary_key=True)
    name = models.CharField(_("navn"), max_length=100)

    class Meta:
        ordering = ["name"]
        verbose_name = _("kommune")
        verbose_name_plural = _("kommuner")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


def new_data_version() -> str:
    """A fresh, never-repeated token for :attr:`Practice.data_version`."""
    return uuid.uuid4().hex


class Practice(models.Model):
    """A GP practice (fastlegekontor), as the registry knows it.

    ``data_version`` changes (to a fresh random token) whenever something the worklist shows
    changes: a data load, a patient or a follow-up plan of the practice (tasks: see
    :mod:`pht.app.care.freshness`). Cached worklist tables are keyed by it, so a change makes
    every cached table of the practice unreachable at once, in the same transaction as the
    change itself.
    """

    practice_id = models.CharField(_("organisasjonsnummer"), max_length=9, primary_key=True)
    name = models.CharField(_("navn"), max_length=200)
    municipality = models.ForeignKey(
        Municipality, on_delete=models.PROTECT, related_name="practices"
    )
    financing_model = models.CharField(_("finansieringsmodell"), max_length=10, blank=True)
    pht_start = models.DateField(_("start i ordningen"), null=True, blank=True)
    pht_end = models.DateField(_("slutt i ordningen"), null=True, blank=True)
    data_version = models.CharField(max_length=32, default=new_data_version, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("legekontor")
        verbose_name_plural = _("legekontor")

    def __str__(self) -> str:
        return self.name

    @property
    def in_scheme(self) -> bool:
        """Whether the practice takes part in the scheme (has a financing model)."""
        return bool(self.financing_model)


class Practitioner(models.Model):
    """A GP, nurse, secretary or psychologist working in a practice (from the registry)."""

    practitioner_id = models.CharField(_("HPR-nummer"), max_length=9)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="practitioners")
    role = models.CharField(_("rolle"), max_length=20)
    name = models.CharField(_("navn"), max_length=200)
    fte = models.DecimalField(_("stillingsandel"), max_digits=4, decimal_places=2, default=1)
    team_lead = models.BooleanField(_("teamleder"), default=False)
    active = models.BooleanField(_("aktiv"), default=True)

    class Meta:
        ordering = ["practice", "role", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["practitioner_id", "practice"], name="practitioner_once_per_practice"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Profile(models.Model):
    """A user's role and where it applies."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    role = models.CharField(_("rolle"), max_length=20, choices=PROFILE_ROLE_CHOICES)
    practice = models.ForeignKey(
        Practice, null=True, blank=True, on_delete=models.PROTECT, related_name="profiles"
    )
    municipality = models.ForeignKey(
        Municipality, null=True, blank=True, on_delete=models.PROTECT, related_name="profiles"
    )
    practitioner = models.ForeignKey(
        Practitioner, null=True, blank=True, on_delete=models.SET_NULL, related_name="profiles"
    )

    class Meta:
        verbose_name = _("brukerprofil")

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.get_role_display()})"

    def clean(self) -> None:
        """A practice role needs a practice; a municipal lead a municipality; others neither."""
        role = AppRole(self.role)
        if role in PRACTICE_ROLES and self.practice_id is None:
            raise ValidationError({"practice": _("En rolle i teamet må høre til et legekontor.")})
        if role == AppRole.SYSTEM and self.practice_id is None:
            raise ValidationError({"practice": _("Et system må høre til et legekontor.")})
        if role not in PRACTICE_ROLES | {AppRole.SYSTEM} and self.practice_id is not None:
            raise ValidationError({"practice": _("Bare teamets roller hører til et legekontor.")})
        if role == AppRole.MUNICIPAL_LEAD and self.municipality_id is None:
            raise ValidationError({"municipality": _("Prosjektlederen må høre til en kommune.")})

    @property
    def sees_patients(self) -> bool:
        """Whether this user may see patient-level data (of their own practice only).

        What exactly (administrative or clinical data) the permission table says
        (:mod:`pht.app.accounts.permissions`); a system client sees what its scopes allow."""
        return (
            self.role in PRACTICE_ROLES or self.role == SYSTEM_ROLE
        ) and self.practice_id is not None

    @property
    def is_team_lead(self) -> bool:
        """The GP who leads the team (and sees the practice's audit log)."""
        return self.role == AppRole.GP_TEAM_LEAD


class PracticeGrant(models.Model):
    """An action the permission table leaves to the practice (``grant``), granted to a role.

    The psychologist, for one, sees clinical notes and records activities only where the
    practice's team lead has granted it (:func:`pht.app.accounts.actions.do_grant`).
    """

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="grants")
    role = models.CharField(_("rolle"), max_length=20, choices=AppRole.choices)
    action = models.CharField(_("handling"), max_length=30)
    granted_by = models.CharField(_("gitt av"), max_length=150)
    granted_at = models.DateTimeField(_("gitt"), auto_now_add=True)

    class Meta:
        verbose_name = _("tilgang gitt av legekontoret")
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "role", "action"], name="grant_once_per_practice_role_action"
            )
        ]

    def __str__(self) -> str:
        return f"{self.practice_id} {self.role} {self.action}"


class SystemClient(models.Model):
    """A system (an EHR, a municipal system) calling the API with its own credentials.

    OAuth 2.0 client credentials (django-oauth-toolkit's :class:`Application`); the client acts
    as its service user (role ``system``, one practice), so every entry it causes is audited
    under its name. ``scopes`` are what it may ask for (``worklist:read``, ``tasks:write``,
    ``extracts:load``); a token carries some of them. Revoking deactivates the client and deletes
    its tokens.
    """

    name = models.CharField(_("navn"), max_length=100, unique=True)
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="systems")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="system_client"
    )
    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        on_delete=models.PROTECT,
        related_name="system_client",
    )
    scopes = models.CharField(_("tillatte scopes"), max_length=200)
    active = models.BooleanField(_("aktiv"), default=True)
    created_at = models.DateTimeField(_("opprettet"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("trukket tilbake"), null=True, blank=True)

    class Meta:
        verbose_name = _("systemklient")

    def __str__(self) -> str:
        return self.name

    def scope_list(self) -> list[str]:
        """The scopes the client may ask for."""
        return self.scopes.split()
