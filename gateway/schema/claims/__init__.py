"""Prévoyance dossiers, règlements and health reimbursements."""
