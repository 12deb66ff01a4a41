"""Relational storage: typed models, engine setup, migrations, queries and bulk loader."""
