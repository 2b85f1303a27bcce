"""The shared kernel of pht: identifiers, periods, money, labels and the scheme's pure rules.

Everything here is free of I/O and of any framework; every other room may import it.
"""

from pht.core.errors import InvalidIdentifier, NotFound, PhtError, ReferenceDataError
from pht.core.labels import EffectGoal, FinancingModel, Role, SizeClass, TargetGroup
from pht.core.money import Money, nok
from pht.core.periods import Period, calendar_year, months_in
from pht.core.scheme import SizeThresholds, StaffingAssessment, StaffingNorm, size_class

__all__ = [
    "EffectGoal",
    "FinancingModel",
    "InvalidIdentifier",
    "Money",
    "NotFound",
    "Period",
    "PhtError",
    "ReferenceDataError",
    "Role",
    "SizeClass",
    "SizeThresholds",
    "StaffingAssessment",
    "StaffingNorm",
    "TargetGroup",
    "calendar_year",
    "months_in",
    "nok",
    "size_class",
]
