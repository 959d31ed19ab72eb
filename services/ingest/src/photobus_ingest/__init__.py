"""The photobus upload API."""
