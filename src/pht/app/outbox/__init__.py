"""The outbox: messages to patients (SMS, e-mail, letter) queued in the database, sent by a
pluggable sender per channel. See docs/app.md ("The outbox")."""
