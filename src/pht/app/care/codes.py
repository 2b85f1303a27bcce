"""Code texts beside codes: ICPC-2 and ICD-10 diagnoses and tariff codes, as the user reads
them ("T90 Diabetes type 2", "2ad Konsultasjon hos lege på dagtid"), from reference data."""

from __future__ import annotations

import re
from functools import cache

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from pht.reference.codes import icd10_codes, icpc2_codes
from pht.reference.tariffs import tariff_codes

_TOKEN = re.compile(r"[A-Za-z0-9.]+")


@cache
def _tariffs() -> dict[str, tuple[str, str]]:
    return {k: (t.title_nb, t.title_en) for k, t in tariff_codes().items()}


def code_text(code: str, system: str = "") -> str:
    """The text of *code* (in *system* when given: ICPC-2, ICD-10, tariff), or ''."""
    code = code.strip()
    if not code:
        return ""
    sys_ = system.upper().replace("-", "")
    if sys_ in ("", "ICPC2") and code in icpc2_codes():
        return icpc2_codes()[code]
    if sys_ in ("", "ICD10"):
        icd = icd10_codes()
        found = icd.get(code) or icd.get(code.replace(".", ""))
        if found:
            return found
    if sys_ in ("", "TARIFF", "TAKST"):
        t = _tariffs().get(code)
        if t:
            return t[1] if (get_language() or "nb").startswith("en") else t[0]
    return ""


def with_texts(detail: str) -> SafeString:
    """*detail* ("T90 · 2ad", "J44 I10") with each known code followed by its text."""
    parts = [p for p in _TOKEN.findall(detail or "")]
    if not parts:
        return format_html("{}", detail or "")
    return format_html_join(
        "; ",
        '{} <span class="codetext">{}</span>',
        ((p, code_text(p)) for p in parts),
    )
