"""The chaos suite: photobus under SIGKILLs, broker and database restarts and failing
destinations, on a RabbitMQ node and a PostgreSQL cluster of its own.

`python -m tests.chaos --photos 300 --seed 1` (`make chaos`) runs it in full; `make test`
runs a short form (test_chaos_short.py). Modules: environment (what runs), photos and
uploader (the client), scheduler (the faults), checker (the guarantees), summary (the
table), run (all of it). The checker fails a run unless every item answered 202 is in
the job view in a terminal state, every original in S3 matches its SHA-256, each fake
destination stored each photo once (plus one per publisher kill while that upload
was open), no queue of the namespace holds a message, and every dead letter the
services logged shows in its job with its reason.

Worth knowing: the fake Imgur keeps Imgur's hourly budget (2000 user credits, 10 per
upload), so past ~190 uploads in a run Imgur answers 429 until the hour ends and those
deliveries end `failed` (jobs `partial`), which is the designed outcome.
"""
