"""The chaos suite: photobus under SIGKILLs, broker and database restarts and failing
destinations, on a RabbitMQ node and a PostgreSQL cluster of its own.

`python -m tests.chaos --photos 300 --seed 7` (`make chaos`) runs it in full; `make test`
runs a short form (tests/chaos/test_chaos_short.py).
"""
