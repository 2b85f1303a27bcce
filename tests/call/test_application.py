"""Applications: validation per field, bank accounts, submit/withdraw, late flags."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pht.call.application import (
    ApplicationRejected,
    ApplicationStatus,
    SignatoryRole,
    submit,
    withdraw,
)
from pht.call.rules import load_call
from pht.call.validation import errors_of, messages_by_field, validate, warnings_of
from pht.core.errors import PhtError
from pht.core.identifiers import is_valid_bank_account
from tests.call.factory import application

RULES = load_call()
WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _fields(app: object) -> dict[str, list[str]]:
    return {k: [m.code for m in v] for k, v in messages_by_field(validate(app, RULES)).items()}


def test_a_complete_application_has_no_messages() -> None:
    assert validate(application("ok", submitted=None), RULES) == []


@given(
    st.text(alphabet="0123456789", min_size=10, max_size=10).filter(
        lambda s: not s.startswith("0000")  # bank number 0000 is python-stdnum's legacy format
    )
)
def test_bank_account_mod11_with_weights_5432765432(base: str) -> None:
    check = (11 - sum(int(d) * w for d, w in zip(base, WEIGHTS, strict=True)) % 11) % 11
    if check == 10:
        assert not any(is_valid_bank_account(base + str(d)) for d in range(10))
        return
    assert is_valid_bank_account(base + str(check))
    assert is_valid_bank_account(f"{base[:4]}.{base[4:6]}.{base[6:]}{check}")  # 1234.56.78903
    assert not is_valid_bank_account(base + str((check + 1) % 10))
    assert not is_valid_bank_account(base)  # 10 digits


def test_wrong_bank_account_is_reported_on_its_field_in_norwegian() -> None:
    app = application("x", submitted=None)
    good = app.applicant.bank_account
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    app.applicant.bank_account = bad
    (msg,) = validate(app, RULES)
    assert msg.field == "applicant.bank_account"
    assert msg.code == "invalid_bank_account"
    assert msg.text == f"Kontonummer {bad!r} er ugyldig: kontrollsifferet stemmer ikke"
    app.applicant.bank_account = "1234567890"
    (msg,) = validate(app, RULES)
    assert "må ha 11 sifre, har 10" in msg.text


def test_each_missing_or_wrong_field_gets_its_own_message() -> None:
    app = application("x", gps=3, submitted=None)
    app.purpose = ""
    app.applicant.orgnr = "123456789"
    app.applicant.contact.email = "ingen-krøllalfa"
    practice = app.practices[0]
    practice.gps[1].takes_part = False
    practice.gps[2].hpr = "12a"
    practice.daily_leader_hpr = "5555555"
    app.signature.role = SignatoryRole.DELEGATE
    app.signature.delegation = ""
    fields = _fields(app)
    assert fields == {
        "applicant.orgnr": ["invalid_orgnr"],
        "applicant.contact.email": ["invalid_email"],
        "purpose": ["missing"],
        "practices[0].gps[1].takes_part": ["gp_not_taking_part"],
        "practices[0].gps[2].hpr": ["invalid_hpr"],
        "practices[0].daily_leader_hpr": ["leader_not_gp"],
        "signature.delegation": ["delegation_missing"],
    }
    msgs = {m.field: m.text for m in validate(app, RULES)}
    assert "alle fastlegene ved Legesenter x må være med" in msgs["practices[0].gps[1].takes_part"]
    assert msgs["practices[0].daily_leader_hpr"].startswith("Legesenter x må ledes av en fastlege")


def test_a_delegate_with_the_delegation_may_sign() -> None:
    app = application("x", submitted=None)
    app.signature.role = SignatoryRole.DELEGATE
    app.signature.delegation = "Delegeringsreglement vedtatt i kommunestyret 12.05.2016, pkt. 4"
    assert validate(app, RULES) == []


def test_staffing_below_the_norm_is_a_warning_with_the_required_fte() -> None:
    app = application("x", gps=6, nurse_fte="1.5", submitted=None)
    (msg,) = validate(app, RULES)
    assert msg in warnings_of([msg]) and not errors_of([msg])
    assert msg.field == "practices[0].planned_nurse_fte"
    # the primary reading (about 3,900 listed per FTE): 7,215 listed need 1.85 FTE
    listed = app.practices[0].listed
    required = RULES.staffing_norm.required_fte_by_listed(listed)
    assert f"1.5 sykepleierårsverk er under normen på {required} for 6 fastlegelister" in msg.text
    assert f"og {listed} listeinnbyggere" in msg.text
    assert f"mangler {required - Decimal('1.5')}" in msg.text
    app.practices[0].planned_nurse_fte = Decimal("2.0")
    assert validate(app, RULES) == []


def test_submit_refuses_an_incomplete_application_field_by_field() -> None:
    app = application("x", submitted=None)
    app.project_description = " "
    app.applicant.bank_account = ""
    with pytest.raises(ApplicationRejected) as err:
        submit(app, rules=RULES, at=dt.datetime(2017, 10, 1, 12))
    assert [m.field for m in err.value.messages] == [
        "applicant.bank_account",
        "project_description",
    ]
    assert "kan ikke sendes inn" in err.value.message


def test_submissions_after_the_deadline_day_are_flagged_late() -> None:
    app = application("x", submitted=None)
    on_time = submit(app, rules=RULES, at=dt.datetime(2017, 10, 15, 23, 59))
    assert on_time.status is ApplicationStatus.SUBMITTED and not on_time.late
    late = submit(app, rules=RULES, at=dt.datetime(2017, 10, 16, 0, 1))
    assert late.late
    with pytest.raises(PhtError):
        submit(late, rules=RULES, at=dt.datetime(2017, 10, 17))


def test_withdraw_once() -> None:
    app = submit(application("x", submitted=None), rules=RULES, at=dt.datetime(2017, 10, 1))
    gone = withdraw(app, at=dt.datetime(2017, 10, 20))
    assert gone.status is ApplicationStatus.WITHDRAWN
    with pytest.raises(PhtError):
        withdraw(gone, at=dt.datetime(2017, 10, 21))
    with pytest.raises(PhtError):
        submit(gone, rules=RULES, at=dt.datetime(2017, 10, 21))
