"""The national call: applications, validation, assessment, selection, decisions, funds, reports.

The room's pieces, in the order a call runs:

* :mod:`pht.call.rules` — calls as data (quotas, GP target, dates, content, criteria)
* :mod:`pht.call.application` — the application and its life (draft, submitted, withdrawn)
* :mod:`pht.call.validation` — messages per field
* :mod:`pht.call.assessment` — scores per criterion, interviews and visits, conflicts of interest
* :mod:`pht.call.selection` — the integer program within quotas and the GP band, explained
* :mod:`pht.call.decisions` and :mod:`pht.call.letters` — four-eyes decisions, PDF letters
* :mod:`pht.call.payments` — project funds per practice and municipality, pro rata per GP
* :mod:`pht.call.reports` — yearly reports, reminders and overdue flags
* :mod:`pht.call.case` — the case file holding all of it; :mod:`pht.call.demo` the 2017 demo
"""

from pht.call.application import (
    Address,
    Applicant,
    Application,
    ApplicationRejected,
    ApplicationStatus,
    ContactPerson,
    GeneralPractitioner,
    JoiningPractice,
    SignatoryRole,
    Signature,
    submit,
    withdraw,
)
from pht.call.assessment import (
    Assessment,
    ConflictOfInterest,
    ConflictOfInterestError,
    declare_conflict,
    record_meeting,
    score_criterion,
    weighted_score,
)
from pht.call.case import CallCase, load_case, save_case
from pht.call.decisions import (
    DecisionSet,
    FourEyesError,
    Outcome,
    approve_decisions,
    pilot_practice_rows,
    propose_decisions,
)
from pht.call.payments import GpChange, PaymentLine, payment_list_csv, payments_for_year
from pht.call.reports import YearlyReport, report_status, validate_report
from pht.call.rules import CallRules, load_call
from pht.call.selection import Override, Selection, SelectionInfeasible, select
from pht.call.validation import Message, Severity, validate

__all__ = [
    "Address",
    "Applicant",
    "Application",
    "ApplicationRejected",
    "ApplicationStatus",
    "Assessment",
    "CallCase",
    "CallRules",
    "ConflictOfInterest",
    "ConflictOfInterestError",
    "ContactPerson",
    "DecisionSet",
    "FourEyesError",
    "GeneralPractitioner",
    "GpChange",
    "JoiningPractice",
    "Message",
    "Outcome",
    "Override",
    "PaymentLine",
    "Selection",
    "SelectionInfeasible",
    "Severity",
    "SignatoryRole",
    "Signature",
    "YearlyReport",
    "approve_decisions",
    "declare_conflict",
    "load_call",
    "load_case",
    "payment_list_csv",
    "payments_for_year",
    "pilot_practice_rows",
    "propose_decisions",
    "record_meeting",
    "report_status",
    "save_case",
    "score_criterion",
    "select",
    "submit",
    "validate",
    "validate_report",
    "weighted_score",
    "withdraw",
]
