"""The value sets are sound reference data: known codes, defined sources, the contract's names."""

from __future__ import annotations

from pht.reference import load_sources
from pht.reference.codes import icd10_codes, icd10_known, icpc2_codes, snomed_concepts
from pht.reference.value_sets import (
    CONDITIONS_OF_TRUTH,
    load_model,
    load_value_sets,
    model_versions,
)


def test_every_code_is_a_code_of_its_system() -> None:
    vs = load_value_sets()
    icpc2 = set(icpc2_codes())
    icd10 = set(icd10_codes())
    for e in (*vs.condition_codes, *vs.deficit_codes):
        if e.code_system == "ICPC-2":
            assert e.code in icpc2, e
        elif e.code_system == "ICD-10":
            # a known code, or a prefix of known codes (I6 = I60-I69); external causes (V-Y,
            # used for falls) are outside the claims code list the code room keeps
            digits = "0123456789"
            assert (
                icd10_known(e.code)
                or any(icd10_known(e.code + d) for d in digits)
                or any(icd10_known(e.code + d + f) for d in digits for f in digits)
                or any(c.startswith(e.code) for c in icd10)
                or e.code[0] in "VWXY"
            ), e


def test_snomed_codes_agree_with_the_code_room_where_both_know_them() -> None:
    vs = load_value_sets()
    concepts = snomed_concepts()
    ours = [e for e in vs.condition_codes if e.code_system == "SNOMED CT"]
    assert ours
    assert all(e.code in concepts for e in ours if e.code in concepts)
    assert sum(e.code in concepts for e in ours) >= len(ours) * 3 // 4


def test_sources_are_defined_and_conditions_match_the_contract() -> None:
    vs = load_value_sets()
    sources = load_sources()
    used = {e.source for e in (*vs.condition_codes, *vs.deficit_codes)}
    used |= {vs.rules.frailty.source, vs.rules.weak_demanders.source, vs.worklist.source}
    assert used <= set(sources)
    assert set(CONDITIONS_OF_TRUTH) <= set(vs.conditions)
    assert len(vs.deficits) == 35


def test_models_are_versioned_with_their_data_period() -> None:
    for name in ("admission_risk", "expected_need"):
        versions = model_versions(name)
        assert versions[0] == 1 and versions == sorted(versions)
        newest = load_model(name)
        assert newest.version == versions[-1]
        assert newest.data_period.outcome_from <= newest.data_period.outcome_until
        assert newest.source in load_sources() or newest.source == "pht population calibrate"
        assert load_model(name, 1).status == "A"
