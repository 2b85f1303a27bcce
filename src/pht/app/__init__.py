"""The team's web app: a Django project (``pht.app.project``) with one app per operational room.

``accounts`` (users, roles per practice or municipality), ``care`` (patients as the analytics
found them, follow-up plans, tasks and recalls, activity log), ``dashboards`` (practice
indicators) and ``audit`` (an append-only log of every view and change of patient-level data).
Views stay thin: they parse input and call ``care.actions``, which validates, writes and audits.
"""
