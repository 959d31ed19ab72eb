"""Shared building blocks of every photobus service."""
