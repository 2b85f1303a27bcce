"""Reference data as versioned files: the 2018 pilot, the scheme's rules and rates, code lists.

The files live in ``pht/reference/data``; this package loads and checks them. Numbers that change
by year or by decision are read from here, never written as literals in code.
"""

from pht.reference.codes import icd10_codes, icd10_known, icpc2_codes, snomed_concepts
from pht.reference.municipalities import MunicipalityCode, municipality_codes, translate_code
from pht.reference.pilot import (
    Pilot,
    PilotDistrict,
    PilotMunicipality,
    PilotPractice,
    load_pilot,
)
from pht.reference.scheme import ProjectFundsRate, SchemeRules, load_scheme_rules
from pht.reference.sources import load_sources
from pht.reference.tariffs import TariffCode, tariff_codes

__all__ = [
    "MunicipalityCode",
    "Pilot",
    "PilotDistrict",
    "PilotMunicipality",
    "PilotPractice",
    "ProjectFundsRate",
    "SchemeRules",
    "TariffCode",
    "icd10_codes",
    "icd10_known",
    "icpc2_codes",
    "load_pilot",
    "load_scheme_rules",
    "load_sources",
    "municipality_codes",
    "snomed_concepts",
    "tariff_codes",
    "translate_code",
]
