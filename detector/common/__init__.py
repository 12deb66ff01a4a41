"""What every package may import and that imports nothing of the project: the settings."""
