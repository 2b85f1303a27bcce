"""Code systems as reference data: ICPC-2, ICD-10 (Norwegian, no dot) and SNOMED CT concepts.

The files live in ``reference/data/codes``; ``systems.toml`` there gives each system's FHIR
system URI, version, source and licence terms.

* ICPC-2: the complete Norwegian list (codes and Norwegian titles) is kept in the project.
* ICD-10: the project keeps every code of the categories its value sets use and the list of all
  three-character categories. The full Norwegian list (about 19,600 codes) is installed with
  ``make codes`` (``python -m pht.reference.codes install TGZ``) from the npm package
  ``@navikt/diagnosekoder`` into ``$PHT_HOME/codes``; when it is there, it is used.
* SNOMED CT: the concepts the target groups need, each mapped to a condition, an ICPC-2 code and
  an ICD-10 code (used by the FHIR importer to place SNOMED-coded data in the extract tables).

:func:`icd10_known` says whether a code exists: exact against the full list when installed,
else exact for the kept categories and "known category + valid form" for the others, so a valid
real code is never rejected for lack of the full list.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import tarfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from stdnum import verhoeff

from pht.core.errors import ReferenceDataError
from pht.core.settings import get_settings
from pht.reference.files import data_text, read_toml

__all__ = [
    "ICD10_FORM",
    "ICPC2_FORM",
    "SYSTEM_ICD10",
    "SYSTEM_ICPC2",
    "SYSTEM_SNOMED",
    "CodeSystem",
    "SnomedConcept",
    "code_systems",
    "full_list_dir",
    "icd10_codes",
    "icd10_known",
    "icpc2_codes",
    "install_full_lists",
    "snomed_concepts",
    "snomed_map",
    "verhoeff_ok",
]

SYSTEM_ICPC2 = "urn:oid:2.16.578.1.12.4.1.1.7170"
SYSTEM_ICD10 = "urn:oid:2.16.578.1.12.4.1.1.7110"
SYSTEM_SNOMED = "http://snomed.info/sct"

# A Norwegian ICPC-2 code: chapter letter + two digits, optionally a national fourth digit.
ICPC2_FORM = re.compile(r"^[A-Z][0-9]{2}[0-9]?$")
# A Norwegian ICD-10 code without dot: letter, two digits (or digit + n/s/t), up to three more
# characters (digits, "x" placeholder, lower-case national extension letters).
ICD10_FORM = re.compile(r"^[A-Z][0-9][0-9nst][0-9x]?[0-9a-z]?$")

_DIR = "codes"


@dataclass(frozen=True, slots=True)
class CodeSystem:
    """One code system: identity, source and licence."""

    key: str
    name: str
    system: str
    version: str
    file: str
    complete: bool
    source: str
    status: str
    licence: str


@dataclass(frozen=True, slots=True)
class SnomedConcept:
    """A SNOMED CT concept pht uses, with its place in the target groups."""

    concept_id: str
    term_en: str
    condition: str
    icpc2: str
    icd10: str


@cache
def code_systems() -> dict[str, CodeSystem]:
    """The code systems pht keeps, keyed ``icpc2``, ``icd10``, ``snomed``."""
    data = read_toml(f"{_DIR}/systems.toml")
    out: dict[str, CodeSystem] = {}
    for key, v in data.items():
        try:
            out[key] = CodeSystem(
                key=key,
                name=v["name"],
                system=v["system"],
                version=str(v["version"]),
                file=v["file"],
                complete=bool(v["complete"]),
                source=v["source"],
                status=v["status"],
                licence=v["licence"],
            )
        except KeyError as err:
            raise ReferenceDataError(
                f"missing {err}", where=f"{_DIR}/systems.toml [{key}]"
            ) from None
    return out


def _read_code_csv(text: str, where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        code = (row.get("code") or "").strip()
        if not code:
            raise ReferenceDataError("empty code", where=f"{where}:{line}")
        if code in out:
            raise ReferenceDataError(f"code {code} listed twice", where=f"{where}:{line}")
        out[code] = (row.get("title_nb") or "").strip()
    return out


def full_list_dir() -> Path:
    """Where ``make codes`` installs the full lists: ``$PHT_HOME/codes``."""
    return get_settings().home / "codes"


def _full(name: str) -> dict[str, str] | None:
    path = full_list_dir() / name
    if not path.is_file():
        return None
    return _read_code_csv(path.read_text(encoding="utf-8"), str(path))


@cache
def icpc2_codes() -> dict[str, str]:
    """Every ICPC-2 code (Norwegian edition) → Norwegian title."""
    return _full("icpc2.csv") or _read_code_csv(data_text(f"{_DIR}/icpc2.csv"), "icpc2.csv")


@cache
def _icd10_kept() -> dict[str, str]:
    return _read_code_csv(data_text(f"{_DIR}/icd10.csv"), "icd10.csv")


@cache
def _icd10_full() -> dict[str, str] | None:
    return _full("icd10.csv")


@cache
def icd10_codes() -> dict[str, str]:
    """ICD-10 codes (no dot) → Norwegian title: the full list when installed, else the kept ones."""
    return _icd10_full() or _icd10_kept()


@cache
def _icd10_categories() -> frozenset[str]:
    text = data_text(f"{_DIR}/icd10_categories.txt")
    return frozenset(x.strip() for x in text.splitlines() if x.strip() and not x.startswith("#"))


@cache
def _icd10_complete_categories() -> frozenset[str]:
    return frozenset(c[:3] for c in _icd10_kept())


def icd10_known(code: str) -> bool:
    """True when *code* is (or, without the full list, can be) a Norwegian ICD-10 code."""
    full = _icd10_full()
    if full is not None:
        return code in full
    if code in _icd10_kept():
        return True
    category = code[:3]
    if category in _icd10_complete_categories():
        return False
    return category in _icd10_categories() and ICD10_FORM.match(code) is not None


def icd10_has_full_list() -> bool:
    """True when the full ICD-10 list is installed in ``$PHT_HOME/codes``."""
    return _icd10_full() is not None


@cache
def snomed_concepts() -> dict[str, str]:
    """SNOMED CT concept id → English term, for the concepts pht maps to target groups."""
    return {k: v.term_en for k, v in snomed_map().items()}


@cache
def snomed_map() -> dict[str, SnomedConcept]:
    """SNOMED CT concept id → the concept with its condition and ICPC-2 / ICD-10 mapping."""
    out: dict[str, SnomedConcept] = {}
    rows = csv.DictReader(io.StringIO(data_text(f"{_DIR}/snomed.csv")))
    for line, row in enumerate(rows, start=2):
        where = f"snomed.csv:{line}"
        cid = row["concept_id"].strip()
        if not verhoeff_ok(cid):
            raise ReferenceDataError(f"concept id {cid} fails the Verhoeff check", where=where)
        out[cid] = SnomedConcept(cid, row["term_en"], row["condition"], row["icpc2"], row["icd10"])
    return out


def verhoeff_ok(value: str) -> bool:
    """True when *value* is a SNOMED CT identifier form (6–18 digits, Verhoeff check digit)."""
    if not (6 <= len(value) <= 18) or not value.isascii() or not value.isdigit():
        return False
    return bool(verhoeff.is_valid(value))


# --- installing the full lists from the npm package ----------------------------------------


def install_full_lists(tgz: Path, dest: Path | None = None) -> dict[str, int]:
    """Unpack ICPC-2 and ICD-10 from an ``@navikt/diagnosekoder`` tarball into *dest*.

    *dest* defaults to :func:`full_list_dir`. Returns the number of codes written per system.
    """
    target = dest or full_list_dir()
    target.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    try:
        with tarfile.open(tgz, "r:gz") as tar:
            for system, member in (
                ("icpc2", "package/lib/ICPC2.json"),
                ("icd10", "package/lib/ICD10.json"),
            ):
                handle = tar.extractfile(member)
                if handle is None:
                    raise ReferenceDataError(f"{member} missing", where=str(tgz))
                rows = json.loads(handle.read().decode("utf-8"))
                buf = io.StringIO()
                writer = csv.writer(buf, lineterminator="\n")
                writer.writerow(["code", "title_nb"])
                for row in sorted(rows, key=lambda r: r["code"]):
                    writer.writerow([row["code"], str(row["text"]).strip()])
                (target / f"{system}.csv").write_text(buf.getvalue(), encoding="utf-8")
                written[system] = len(rows)
    except (OSError, tarfile.TarError, KeyError, ValueError) as err:
        raise ReferenceDataError(f"cannot read the code lists: {err}", where=str(tgz)) from None
    for fn in (icpc2_codes, icd10_codes, _icd10_full):
        fn.cache_clear()
    return written


def main(argv: list[str]) -> int:
    """``python -m pht.reference.codes install TGZ [DEST]``."""
    if len(argv) < 2 or argv[0] != "install":
        sys.stderr.write("usage: python -m pht.reference.codes install TGZ [DEST]\n")
        return 2
    dest = Path(argv[2]) if len(argv) > 2 else None
    for system, n in install_full_lists(Path(argv[1]), dest).items():
        sys.stdout.write(f"{system}: {n} codes installed in {dest or full_list_dir()}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
