"""Gallery renditions and image metadata for every received photo."""
