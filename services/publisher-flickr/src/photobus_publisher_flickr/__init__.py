"""photobus publisher for flickr."""
