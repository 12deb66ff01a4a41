"""The insights page: axes, scenarios, decisions, charts."""

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {
    "ax.alerts_both": ("Alertes (les deux règles)", "Alerts (both rules)"),
    "ax.rule": ("Règle", "Rule"),
    "ax.severity": ("Sévérité", "Severity"),
    "ax.hour": ("Heure de la journée ({tz})", "Hour of day ({tz})"),
    "ax.day": ("Jour ({tz})", "Day ({tz})"),
    "ax.country": ("Pays", "Country"),
    "ax.device": ("Appareil", "Device"),
    "ax.utm_source": ("Source de trafic", "Traffic source"),
    "ax.method": ("Moyen de paiement", "Payment method"),
    "ax.decisions": ("Décisions", "Decisions"),
    "ax.action": ("Décision", "Decision"),
    "ax.analyst": ("Analyste", "Analyst"),
    "ax.source": ("Mesurée par", "Measured from"),
    "ax.scenario": ("Scénario de fraude", "Fraud scenario"),
    "ax.score_threshold": ("Seuil de score", "Score threshold"),
    "ax.share": ("Part", "Share"),
    "act.INVESTIGATE": ("Mise en investigation", "Sent to investigation"),
    "sc.card_testing": ("Test de cartes", "Card testing"),
    "sc.stolen_card_new_account": ("Carte volée, compte neuf", "Stolen card, new account"),
    "sc.account_takeover": ("Prise de contrôle de compte", "Account takeover"),
    "sc.device_ring": ("Réseau d'appareils", "Device ring"),
    "sc.low_signal": ("Fraude discrète", "Low-signal fraud"),
    "sc.(none)": ("(sans scénario)", "(no scenario)"),
    "ins.empty": (
        "Pas encore d'alerte à analyser. Générez un jeu de données et rejouez-le dans "
        "l'atelier de données.",
        "No alerts to analyse yet. Generate a dataset and replay it in the Dataset studio.",
    ),
    "ins.kpi.rate_help": (
        "Alertes / paiements chargés en base ({payments} paiements)",
        "Alerts / payments loaded in the database ({payments} payments)",
    ),
    "ins.kpi.decided": ("Alertes traitées", "Alerts decided"),
    "ins.kpi.confirmed": ("Fraudes confirmées", "Confirmed fraud"),
    "ins.kpi.confirmed_help": (
        "Part des alertes traitées qui ont été bloquées (fraude confirmée).",
        "Share of decided alerts that were blocked (confirmed fraud).",
    ),
    "ins.sec.reasons": ("Motifs d'alerte", "Alert reasons"),
    "ins.reasons.title": ("Alertes par motif (règle déclenchée)", "Alerts by reason (rule fired)"),
    "ins.cooc.title": (
        "Motifs qui se déclenchent ensemble (alertes avec les deux règles)",
        "Reasons that fire together (alerts with both rules)",
    ),
    "ins.sec.time": ("Chronologie", "Timing"),
    "ins.severity.title": ("Répartition par sévérité", "Alerts by severity"),
    "ins.hour.title": ("Alertes par heure de la journée", "Alerts by hour of day"),
    "ins.day.title": ("Alertes par jour et sévérité", "Alerts per day, by severity"),
    "ins.sec.breakdown": ("Répartitions", "Breakdowns"),
    "ins.by.country": ("Alertes par pays du paiement", "Alerts by payment country"),
    "ins.by.device": ("Alertes par appareil", "Alerts by device"),
    "ins.by.utm_source": ("Alertes par source de trafic", "Alerts by traffic source"),
    "ins.by.method": ("Alertes par moyen de paiement", "Alerts by payment method"),
    "ins.method_unknown": (
        "Le moyen de paiement se lit dans la table des paiements, pas encore chargée pour ces "
        "alertes (atelier de données → Charger en base).",
        "The payment method comes from the payments table, not loaded yet for these alerts "
        "(Dataset studio → Load into the database).",
    ),
    "ins.sec.decisions": ("Décisions des analystes", "Analyst decisions"),
    "ins.no_decisions": ("Aucune décision prise pour l'instant.", "No decisions taken yet."),
    "ins.decisions.title": ("Décisions par jour", "Decisions per day"),
    "ins.workload.title": (
        "Charge des analystes (décisions par analyste et par jour)",
        "Analyst workload (decisions per analyst per day)",
    ),
    "ins.sec.precision": ("Précision de chaque règle", "Precision of each rule"),
    "ins.precision.help": (
        "Part des alertes où la règle s'est déclenchée qui sont de la fraude : d'après les "
        "décisions (bloquée = fraude confirmée, approuvée = fausse alerte ; les alertes "
        "ouvertes ne comptent pas) et d'après les labels du jeu de données quand la table "
        "des paiements les contient.",
        "Share of the alerts a rule fired in that are fraud: from analyst decisions (blocked "
        "= confirmed fraud, approved = false positive; open alerts do not count) and from "
        "the dataset's labels where the payments table has them.",
    ),
    "ins.precision.title": ("Précision par règle", "Precision by rule"),
    "ins.precision.decision_precision": ("Précision (décisions)", "Precision (decisions)"),
    "ins.precision.label_precision": ("Précision (labels)", "Precision (labels)"),
    "ins.col.blocked": ("Bloquées", "Blocked"),
    "ins.col.approved": ("Approuvées", "Approved"),
    "ins.col.labelled": ("Avec label", "Labelled"),
    "ins.col.frauds": ("Fraudes (label)", "Frauds (label)"),
    "ins.precision.none": (
        "Pas encore de précision à montrer : aucune alerte décidée (bloquée ou approuvée) et "
        "aucun paiement étiqueté en base.",
        "No precision to show yet: no alert has been decided (blocked or approved) and no "
        "labelled payment is loaded.",
    ),
}
