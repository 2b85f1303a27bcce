"""Financing: project funds, the fee model and the operating-grant model, comparison, roll-out."""
