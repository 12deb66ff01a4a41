"""The REST API: a second front end over the desk's use cases (FastAPI, ``python -m api``)."""
