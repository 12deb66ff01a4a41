"""The command line's backtest report."""

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {
    "report.title": (
        "Backtest : seuil {t}, HIGH à partir de {h}",
        "Backtest: threshold {t}, HIGH from {h}",
    ),
    "report.tp_fp_fn": ("VP / FP / FN", "TP / FP / FN"),
    "report.incidents": ("Incidents détectés", "Incidents caught"),
    "report.inc_recall": ("Rappel incidents", "Incident recall"),
    "report.inc_precision": ("Précision incidents", "Incident precision"),
    "report.inc_f1": ("F1 incidents", "Incident F1"),
    "report.ap": ("Précision moyenne (AUC-PR)", "Average precision (AUC-PR)"),
    "report.amount": ("Montant fraudé détecté", "Fraud amount caught"),
    "report.severity": ("Gravité", "Severity"),
    "report.review": (
        "Capacité de revue {k}/jour : précision@{k} moyenne {m} sur {d} jours avec alertes "
        "(globale {p})",
        "Review capacity {k}/day: precision@{k} mean {m} over {d} days with alerts (pooled {p})",
    ),
    "report.beyond": ("Alertes au-delà de la capacité : {b}", "Alerts beyond capacity: {b}"),
    "report.day": ("Jour", "Day"),
    "report.reviewed": ("Revues", "Reviewed"),
    "report.omitted": ("({n} jours antérieurs non affichés)", "({n} earlier days not shown)"),
    "report.hits": ("Déclench.", "Hits"),
    "report.hit_rate": ("Taux", "Hit rate"),
    "report.lift": ("Lift", "Lift"),
    "report.scenario": ("Scénario", "Scenario"),
    "report.caught": ("Détectés", "Caught"),
    "report.threshold": ("Seuil", "Threshold"),
    "report.rate": ("Taux", "Rate"),
    "report.curve": ("Courbe par seuil", "Threshold curve"),
}
