"""Relational storage: typed models, engine setup, migrations, repository and bulk loader."""
