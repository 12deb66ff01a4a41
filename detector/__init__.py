"""Fraud detection: rules as data, a pure scoring engine, backtest and the streaming service."""
