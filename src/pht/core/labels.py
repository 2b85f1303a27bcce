"""Domain enums with Norwegian (bokmål) and English labels.

The value is the stable machine name used in data files and code; ``.nb`` and ``.en`` are what a
user reads.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "CONDITIONS",
    "Condition",
    "EffectGoal",
    "FinancingModel",
    "LabelledEnum",
    "Role",
    "SizeClass",
    "TargetGroup",
]


class LabelledEnum(StrEnum):
    """A string enum whose members carry a bokmål and an English label."""

    @property
    def nb(self) -> str:
        """Bokmål label."""
        return type(self)._labels()[self.value][0]

    @property
    def en(self) -> str:
        """English label."""
        return type(self)._labels()[self.value][1]

    def label(self, language: str = "nb") -> str:
        """The label in *language* ("nb" or "en")."""
        return self.nb if language.startswith("nb") or language.startswith("no") else self.en

    @classmethod
    def _labels(cls) -> dict[str, tuple[str, str]]:
        raise NotImplementedError


class SourceStatus(LabelledEnum):
    """How a rule, rate or figure stands to its source: confirmed from it, derived from it, or
    assumed by the project. Reference data write the letters C, D and A or the words."""

    CONFIRMED = "confirmed"
    DERIVED = "derived"
    ASSUMED = "assumed"

    @classmethod
    def _labels(cls) -> dict[str, tuple[str, str]]:
        return {
            "confirmed": ("bekreftet", "confirmed"),
            "derived": ("avledet", "derived"),
            "assumed": ("antatt", "assumed"),
        }

    @classmethod
    def of(cls, code: str) -> SourceStatus:
        """The status written as a letter (C, D, A) or a word (confirmed, derived, assumed)."""
        return cls({"C": "confirmed", "D": "derived", "A": "assumed"}.get(code, code))


class Role(LabelledEnum):
    """Roles in a primary health team."""

    GP = "gp"
    NURSE = "nurse"
    SECRETARY = "secretary"
    PSYCHOLOGIST = "psychologist"

    @classmethod
    def _labels(cls) -> dict[str, tuple[str, str]]:
        return {
            "gp": ("fastlege", "GP"),
            "nurse": ("sykepleier", "nurse"),
            "secretary": ("helsesekretær", "health secretary"),
            "psychologist": ("psykolog", "psychologist"),
        }


class SizeClass(LabelledEnum):
    """Municipality size class as the 2017 call defines it."""

    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"

    @classmethod
    def _labels(cls) -> dict[str, tuple[str, str]]:
        return {
            "small": ("liten kommune (under 5 000 innbyggere)", "small (< 5,000 inhabitants)"),
            "medium": (
                "mellomstor kommune (5 000–20 000 innbyggere)",
                "medium (5,000–20,000 inhabitants)",
            ),
            "large": ("stor kommune (over 20 000 innbyggere)", "large (> 20,000 inhabitants)"),
        }


class FinancingModel(LabelledEnum):
    """The two financing models of the scheme."""

    FEE = "fee"
    GRANT = "grant"

    @classmethod
    def _labels(cls) -> dict[str, tuple[str, str]]:
        return {
            "fee": ("honorarmodell", "fee model"),
            "grant": ("driftstilskuddsmodell", "operating-grant model"),
        }


class TargetGroup(LabelledEnum):
    """The scheme's target groups (målgrupper)."""

    CHRONIC_DISEASE = "chronic_disease"
    MENTAL_ILLNESS = "mental_illness"
    SUBSTANCE_USE = "substance_use"
    FRAIL_ELDERLY = "frail_elderly"
    DEVELOPMENTAL_DISABILITY = "developmental_disability"
    WEAK_DEMANDERS = "weak_demanders"

    @classmethod
    def _labels(cls) -> dict[str, tuple[str, str]]:
        return {
            "chronic_disease": ("kronisk sykdom", "chronic disease"),
            "mental_illness": ("psykiske lidelser", "mental illness"),
            "substance_use": ("rusavhengighet", "substance use"),
            "frail_elderly": ("skrøpelige eldre", "frail elderly"),
            "developmental_disability": (
                "utviklingshemning og funksjonsnedsettelse",
                "developmental disability and functional impairment",
            ),
            "weak_demanders": ("svake etterspørrere", "people with needs who seldom seek care"),
        }


class EffectGoal(LabelledEnum):
    """The six effect goals (effektmål) the evaluation measures, in the scheme's order."""

    HEALTH_AND_COPING = "health_and_coping"
    SATISFACTION = "satisfaction"
    COORDINATED_SERVICES = "coordinated_services"
    REDUCED_NEED = "reduced_need"
    COLLABORATION = "collaboration"
    RESOURCE_USE = "resource_use"

    @property
    def number(self) -> int:
        """The goal's number in the scheme (1–6)."""
        return list(type(self)).index(self) + 1

    @classmethod
    def _labels(cls) -> dict[str, tuple[str, str]]:
        return {
            "health_and_coping": (
                "Bedre helsetilstand og mestringsevne",
                "Better health and coping",
            ),
            "satisfaction": (
                "Økt pasient- og brukertilfredshet",
                "Higher patient and user satisfaction",
            ),
            "coordinated_services": (
                "Bedre koordinerte og sammenhengende tjenester",
                "Better coordinated and more continuous services",
            ),
            "reduced_need": (
                "Redusert behov for helse- og omsorgstjenester",
                "Reduced (delayed) need for extensive health and care services",
            ),
            "collaboration": ("Bedre samhandling", "Better collaboration"),
            "resource_use": ("Bedre samlet ressursbruk", "Better overall use of resources"),
        }


class Condition(LabelledEnum):
    """The chronic conditions pht identifies, generates and follows up (in a fixed order)."""

    DIABETES = "diabetes"
    COPD = "copd"
    ASTHMA = "asthma"
    HEART_FAILURE = "heart_failure"
    CORONARY_DISEASE = "coronary_disease"
    ATRIAL_FIBRILLATION = "atrial_fibrillation"
    HYPERTENSION = "hypertension"
    STROKE = "stroke"
    DEMENTIA = "dementia"
    DEPRESSION_ANXIETY = "depression_anxiety"
    SEVERE_MENTAL_ILLNESS = "severe_mental_illness"
    SUBSTANCE_USE = "substance_use"
    DEVELOPMENTAL_DISABILITY = "developmental_disability"

    @classmethod
    def _labels(cls) -> dict[str, tuple[str, str]]:
        return {
            "diabetes": ("diabetes", "diabetes"),
            "copd": ("kols", "COPD"),
            "asthma": ("astma", "asthma"),
            "heart_failure": ("hjertesvikt", "heart failure"),
            "coronary_disease": ("koronarsykdom", "coronary disease"),
            "atrial_fibrillation": ("atrieflimmer", "atrial fibrillation"),
            "hypertension": ("høyt blodtrykk", "hypertension"),
            "stroke": ("hjerneslag", "stroke"),
            "dementia": ("demens", "dementia"),
            "depression_anxiety": ("depresjon og angst", "depression and anxiety"),
            "severe_mental_illness": ("alvorlig psykisk lidelse", "severe mental illness"),
            "substance_use": ("rusavhengighet", "substance use"),
            "developmental_disability": ("utviklingshemning", "developmental disability"),
        }


CONDITIONS: tuple[str, ...] = tuple(c.value for c in Condition)
"""The condition names in their fixed order (column order in generated arrays)."""
