"""Fuzz targets over the decode → check → thumbnail path, and the hostile files they start from."""
