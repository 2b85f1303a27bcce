"""Evaluation of the scheme's six effect goals.

Indicators as data (:mod:`.indicators`), comparison practices (:mod:`.comparison`),
difference-in-differences and event studies with standard errors clustered by practice
(:mod:`.did`), small-cell suppression (:mod:`.suppression`) and the published report
(:mod:`.report`). :mod:`.simulate` draws small extracts with planted effects for validation.
"""
