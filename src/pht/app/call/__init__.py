"""The national call in the web app: municipalities apply, case officers assess and decide.

Views stay thin: they parse input and call :mod:`pht.app.call.actions`, which run the domain
(:mod:`pht.call`) and write the audit entry for every step.
"""
