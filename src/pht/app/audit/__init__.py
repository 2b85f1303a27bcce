"""The append-only audit log of every view and change of patient-level data."""
