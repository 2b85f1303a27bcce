"""The application a municipality sends to a call, and its life: draft, submitted, withdrawn.

Every field may be empty while the application is a draft; :mod:`pht.call.validation` says what
is missing or wrong, field by field. Submitting runs the validation and refuses an application
with errors; a submission after the deadline day is accepted and flagged late (the call says late
applications *may* be rejected, so the case officer decides).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from pht.call.rules import CallRules
from pht.core.errors import PhtError
from pht.core.labels import FinancingModel, LabelledEnum, SizeClass

__all__ = [
    "Address",
    "Applicant",
    "Application",
    "ApplicationRejected",
    "ApplicationStatus",
    "ContactPerson",
    "GeneralPractitioner",
    "JoiningPractice",
    "SignatoryRole",
    "Signature",
    "is_late",
    "submit",
    "withdraw",
]


class ApplicationStatus(LabelledEnum):
    """Where an application is in its life."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"

    @classmethod
    def _labels(cls) -> dict[str, tuple[str, str]]:
        return {
            "draft": ("utkast", "draft"),
            "submitted": ("sendt inn", "submitted"),
            "withdrawn": ("trukket", "withdrawn"),
        }


class SignatoryRole(StrEnum):
    """Who signs: the chief executive (rådmann) or someone with delegated authority."""

    CHIEF_EXECUTIVE = "chief_executive"
    DELEGATE = "delegate"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Address(_Model):
    """A postal address."""

    street: str = ""
    postcode: str = ""
    city: str = ""


class ContactPerson(_Model):
    """The applicant's contact person for the application."""

    name: str = ""
    title: str = ""
    email: str = ""
    phone: str = ""


class Applicant(_Model):
    """The municipality that applies (for Oslo: the municipality, with practices in districts)."""

    municipality_code: str = ""  # kommunenummer valid on the submission day
    municipality: str = ""
    population: int | None = Field(default=None, ge=0)
    address: Address = Field(default_factory=Address)
    orgnr: str = ""
    bank_account: str = ""
    contact: ContactPerson = Field(default_factory=ContactPerson)


class GeneralPractitioner(_Model):
    """A GP of a joining practice (fastlege), with the size of the GP's list."""

    hpr: str = ""
    name: str = ""
    list_size: int | None = Field(default=None, ge=0)
    takes_part: bool = True


class JoiningPractice(_Model):
    """A GP practice that joins with the municipality, with all its GPs and the nurse plan."""

    orgnr: str = ""
    name: str = ""
    district: str | None = None  # Oslo district (bydel) name, when the practice is in one
    bank_account: str = ""  # where the practice's project funds are paid
    daily_leader_hpr: str = ""
    gps: list[GeneralPractitioner] = Field(default_factory=list)
    planned_nurse_fte: Decimal | None = Field(default=None, ge=0)
    financing_model: FinancingModel | None = None

    @property
    def participating_gps(self) -> list[GeneralPractitioner]:
        """The GPs who take part."""
        return [g for g in self.gps if g.takes_part]

    @property
    def listed(self) -> int:
        """Listed patients of the participating GPs (unknown list sizes count 0)."""
        return sum(g.list_size or 0 for g in self.participating_gps)


class Signature(_Model):
    """The signature: the chief executive (rådmann) or a delegate with the delegation."""

    name: str = ""
    title: str = ""
    role: SignatoryRole | None = None
    signed_on: dt.date | None = None
    delegation: str = ""  # reference to the delegation (decision, date) when role is delegate


class Application(_Model):
    """An application to a call, from draft to submitted or withdrawn."""

    id: str
    call_id: str
    synthetic: bool = False  # a demo applicant that does not exist
    known_from: str = ""  # for demo data: joined / announced / synthetic
    applicant: Applicant = Field(default_factory=Applicant)
    purpose: str = ""
    project_description: str = ""
    gp_service_organisation: str = ""
    internal_control: str = ""
    external_control: str = ""
    practices: list[JoiningPractice] = Field(default_factory=list)
    signature: Signature = Field(default_factory=Signature)
    status: ApplicationStatus = ApplicationStatus.DRAFT
    submitted_at: dt.datetime | None = None
    withdrawn_at: dt.datetime | None = None
    late: bool = False

    @property
    def name(self) -> str:
        """The applicant's name as letters and lists show it."""
        return self.applicant.municipality or self.id

    @property
    def gps(self) -> int:
        """Participating GPs over all joining practices."""
        return sum(len(p.participating_gps) for p in self.practices)

    @property
    def listed(self) -> int:
        """Listed patients of the participating GPs."""
        return sum(p.listed for p in self.practices)

    @property
    def planned_nurse_fte(self) -> Decimal:
        """Planned nurse FTEs over all practices."""
        return sum((p.planned_nurse_fte or Decimal(0) for p in self.practices), Decimal(0))

    def size_class(self, rules: CallRules) -> SizeClass | None:
        """The applicant's size class under the call's rules (None while population is unknown)."""
        pop = self.applicant.population
        return None if pop is None else rules.size_class(pop)


class ApplicationRejected(PhtError):
    """Submitting failed: the application has errors; ``messages`` holds them field by field."""

    def __init__(self, application_id: str, messages: list[object]) -> None:
        self.messages = messages
        fields = ", ".join(sorted({getattr(m, "field", "?") for m in messages}))
        super().__init__(
            f"søknaden har {len(messages)} feil og kan ikke sendes inn ({fields})",
            where=application_id,
        )


def is_late(application: Application, deadline: dt.date) -> bool:
    """True when *application* was submitted after the deadline day."""
    return application.submitted_at is not None and application.submitted_at.date() > deadline


def submit(application: Application, *, rules: CallRules, at: dt.datetime) -> Application:
    """Submit *application* at *at*: validates, refuses errors, flags a late submission.

    Returns the submitted application (a new object); raises :class:`ApplicationRejected` with
    the messages per field when the application has errors.
    """
    from pht.call.validation import errors_of, validate

    if application.status is ApplicationStatus.WITHDRAWN:
        raise PhtError("søknaden er trukket og kan ikke sendes inn", where=application.id)
    if application.status is ApplicationStatus.SUBMITTED:
        raise PhtError("søknaden er allerede sendt inn", where=application.id)
    errors = errors_of(validate(application, rules))
    if errors:
        raise ApplicationRejected(application.id, list(errors))
    return application.model_copy(
        update={
            "status": ApplicationStatus.SUBMITTED,
            "submitted_at": at,
            "late": rules.is_late(at),
        }
    )


def withdraw(application: Application, *, at: dt.datetime) -> Application:
    """Withdraw a draft or submitted application (a new object)."""
    if application.status is ApplicationStatus.WITHDRAWN:
        raise PhtError("søknaden er allerede trukket", where=application.id)
    return application.model_copy(
        update={"status": ApplicationStatus.WITHDRAWN, "withdrawn_at": at}
    )
