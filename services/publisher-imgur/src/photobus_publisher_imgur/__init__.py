"""photobus publisher for imgur."""
