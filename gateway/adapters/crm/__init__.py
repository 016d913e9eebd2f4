"""The CRM: customers and demandes (client.py), accounts (accounts.py), the write side of demandes."""
