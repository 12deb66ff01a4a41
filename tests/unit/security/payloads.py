"""Hostile strings shared by the security tests (unit and integration)."""

from __future__ import annotations

# Free text an attacker controls (customer ids, notes, reasons, payloads): HTML, script,
# markdown links and images, Streamlit directives, LaTeX.
MARKUP = (
    "<img src=x onerror=alert(1)>",
    "<script>alert('x')</script>",
    "**bold** [link](javascript:alert(1))",
    "![x](http://evil.example/x.png)",
    ":red[alarm] :material/warning:",
    "$\\frac{1}{0}$",
    '<a href="https://evil.example/">update</a>',  # a live link in a Plotly chart's labels
)
# What would show that one of them was rendered as markup rather than as text.
RENDERED = ("<img", "<script", "](javascript:", "![x](", ":red[", "$\\frac", "<a href")
# The same for Plotly, which renders a few HTML tags (links among them) in any label.
CHART_RENDERED = ("<img", "<script", "<a href")

SQL = (
    "' OR 1=1 --",
    "'; DROP TABLE fraud_alerts; --",
    '" OR ""="',
    "x') UNION SELECT alert_id FROM fraud_alerts --",
    "%' OR customer_id LIKE '%",
    "\\'; DELETE FROM audit_log; --",
)
