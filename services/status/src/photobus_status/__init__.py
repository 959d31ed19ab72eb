"""The photobus job view: folds events into Postgres and serves them."""
