"""photobus publisher for gphotos."""
