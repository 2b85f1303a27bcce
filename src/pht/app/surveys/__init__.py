"""Patient surveys (PROM/PREM) sent by the practice and answered on the patient's phone.
See docs/surveys.md."""
