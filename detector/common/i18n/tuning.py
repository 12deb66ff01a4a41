"""The rule-tuning page: editor columns, metrics, validation, suggestion, versions."""

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {
    "col.enabled": ("Active", "Enabled"),
    "col.param": ("Paramètre [bornes]", "Parameter [bounds]"),
    "col.payment": ("Paiement", "Payment"),
    "col.customer": ("Client", "Customer"),
    "col.time": ("Date (UTC)", "Time (UTC)"),
    "col.amount": ("Montant", "Amount"),
    "col.is_fraud": ("Fraude (label)", "Fraud (label)"),
    "field.alert_threshold": ("Seuil d'alerte", "Alert threshold"),
    "field.high_threshold": ("Seuil de sévérité élevée", "High-severity threshold"),
    "m.precision": ("Précision", "Precision"),
    "m.recall": ("Rappel", "Recall"),
    "m.f1": ("F1", "F1"),
    "m.alert_rate": ("Taux d'alerte", "Alert rate"),
    "m.alerts": ("Alertes", "Alerts"),
    "m.average_precision": ("AUC-PR", "AUC-PR"),
    "m.auc_pr_help": (
        "Aire sous la courbe précision-rappel (précision moyenne) : qualité du classement, "
        "quel que soit le seuil.",
        "Area under the precision-recall curve (average precision): how well scores rank "
        "fraud first, whatever the threshold.",
    ),
    "m.incident_recall": ("Rappel par incident", "Incident recall"),
    "m.per_day": ("Alertes par jour", "Alerts per day"),
    "m.per_day_help": (
        "Moyenne sur les jours du jeu de données ; capacité de revue {capacity}/jour, "
        "dépassée {over} jour(s).",
        "Mean over the dataset's days; review capacity {capacity}/day, exceeded on {over} day(s).",
    ),
    "err.not_number": ("doit être un nombre, reçu {value!r}", "must be a number, got {value!r}"),
    "err.whole": (
        "doit être un nombre entier, reçu {value}",
        "must be a whole number, got {value}",
    ),
    "err.bounds": (
        "doit être entre {lo} et {hi}, reçu {value}",
        "must be between {lo} and {hi}, got {value}",
    ),
    "err.bool": ("doit être coché ou non, reçu {value!r}", "must be ticked or not, got {value!r}"),
    "err.missing_rule": ("règle absente du tableau", "rule missing from the table"),
    "err.order": (
        "le seuil d'alerte ({alert}) doit être inférieur ou égal au seuil de sévérité élevée "
        "({high})",
        "the alert threshold ({alert}) must not exceed the high-severity threshold ({high})",
    ),
    "diff.initial": ("Version initiale", "Initial version"),
    "tun.no_dataset": (
        "Aucun jeu de données étiqueté. Générez-en un dans l'atelier de données.",
        "No labelled dataset yet. Generate one in the Dataset studio.",
    ),
    "tun.dataset": ("Jeu de données du backtest", "Backtest dataset"),
    "tun.dataset_help": (
        "Le plus récent par défaut (générés ou importés dans data/datasets).",
        "The latest by default (generated or imported into data/datasets).",
    ),
    "tun.capacity": ("Capacité de revue (alertes/jour)", "Review capacity (alerts/day)"),
    "tun.capacity_help": (
        "Combien d'alertes l'équipe peut revoir par jour ; sert à la précision@k.",
        "How many alerts the team can review per day; used for precision@k.",
    ),
    "tun.reading": ("Lecture du jeu de données…", "Reading the dataset…"),
    "tun.bad_dataset": ("Jeu de données illisible : {error}", "Unreadable dataset: {error}"),
    "tun.base_active": ("base : version active v{v}", "base: active version v{v}"),
    "tun.base_suggested": ("base : suggestion appliquée", "base: applied suggestion"),
    "tun.sec.editor": ("Règles et seuils", "Rules and thresholds"),
    "tun.editor_help": (
        "Modifiez points, activation et paramètres ; le backtest se met à jour à chaque changement",
        "Edit points, enabled flags and parameters; the backtest updates on every change",
    ),
    "tun.reset": ("Revenir à la version active", "Back to the active version"),
    "tun.reset_help": ("Annule les modifications non publiées.", "Drops unpublished edits."),
    "tun.invalid": (
        "Valeurs invalides : rien n'est appliqué tant qu'elles ne sont pas corrigées.",
        "Invalid values: nothing is applied until they are fixed.",
    ),
    "tun.fix_first": (
        "Corrigez les valeurs signalées pour voir le backtest.",
        "Fix the values above to see the backtest.",
    ),
    "tun.building": (
        "Calcul de la matrice des déclenchements (nouveaux paramètres)…",
        "Building the rule-hit matrix (new parameters)…",
    ),
    "tun.sec.backtest": ("Backtest instantané", "Instant backtest"),
    "tun.backtest_help": (
        "{n} paiements étiquetés ; écarts par rapport à la version active v{v}.",
        "{n} labelled payments; deltas against the active version v{v}.",
    ),
    "tun.unlabelled": (
        "Ce jeu de données n'a pas de labels de fraude : seuls les volumes sont évalués.",
        "This dataset has no fraud labels: only volumes can be evaluated.",
    ),
    "tun.draft": ("Brouillon", "Draft"),
    "tun.active": ("Version active", "Active version"),
    "tun.operating_point": ("{who} (seuil {t})", "{who} (threshold {t})"),
    "tun.pr.title": ("Courbe précision-rappel", "Precision-recall curve"),
    "tun.thr.title": (
        "Précision, rappel et taux d'alerte selon le seuil",
        "Precision, recall and alert rate by threshold",
    ),
    "tun.current_threshold": ("seuil actuel", "current threshold"),
    "tun.day.title": (
        "Alertes par jour et capacité de revue ({capacity}/jour)",
        "Alerts per day vs review capacity ({capacity}/day)",
    ),
    "tun.cap": ("capacité", "capacity"),
    "tun.rules.title": ("Contribution de chaque règle", "Each rule's contribution"),
    "tun.rules.hits": ("Déclenchements", "Hits"),
    "tun.rules.hits_h": (
        "Paiements où la règle se déclenche (alerte ou non).",
        "Payments where the rule fires (alert or not).",
    ),
    "tun.rules.in_alerts": ("Dans des alertes", "In alerts"),
    "tun.rules.decisive": ("Décisive", "Decisive"),
    "tun.rules.decisive_h": (
        "Alertes qui disparaîtraient sans les points de cette règle.",
        "Alerts that would drop without this rule's points.",
    ),
    "tun.sc.title": ("Rappel par scénario de fraude", "Recall per fraud scenario"),
    "tun.sec.compare": ("Comparaison avec la version active v{v}", "Versus active version v{v}"),
    "tun.cmp.new": ("Nouvelles alertes", "Newly alerting"),
    "tun.cmp.dropped": ("Alertes supprimées", "No longer alerting"),
    "tun.cmp.frauds": ("dont {n} fraude(s) étiquetée(s)", "of which {n} labelled fraud"),
    "tun.cmp.same": (
        "Mêmes paiements en alerte qu'avec la version active.",
        "Same payments alert as with the active version.",
    ),
    "tun.cmp.change": ("Changement", "Change"),
    "tun.cmp.new_label": ("nouvelle", "new"),
    "tun.cmp.dropped_label": ("supprimée", "dropped"),
    "tun.cmp.score_active": ("Score actif", "Active score"),
    "tun.cmp.score_draft": ("Score brouillon", "Draft score"),
    "tun.sec.suggest": ("Suggérer des poids", "Suggest weights"),
    "tun.suggest_help": (
        "Ajuste points et seuil sur ce jeu de données, puis les juge sur un jeu de contrôle "
        "généré avec les mêmes paramètres (graine + 1000). Rien n'est appliqué sans votre "
        "accord.",
        "Fits points and a threshold on this dataset, then judges them on a hold-out dataset "
        "generated with the same parameters (seed + 1000). Nothing is applied until you say "
        "so.",
    ),
    "tun.objective": ("Objectif", "Objective"),
    "obj.recall_at_budget": ("Rappel max. sous budget d'alertes", "Best recall within budget"),
    "obj.f1": ("Meilleur F1", "Best F1"),
    "obj.precision_at_recall": (
        "Précision max. à rappel minimal",
        "Best precision at minimum recall",
    ),
    "tun.budget": ("Budget (taux d'alerte max.)", "Budget (max alert rate)"),
    "tun.budget_help": ("0,05 = au plus 5 % des paiements", "0.05 = at most 5% of payments"),
    "tun.min_recall": ("Rappel minimal", "Minimum recall"),
    "tun.suggest": ("Suggérer", "Suggest"),
    "tun.suggesting": (
        "Ajustement et contrôle sur le jeu de contrôle…",
        "Fitting and checking on the hold-out…",
    ),
    "tun.holdout_failed": (
        "Jeu de contrôle impossible à préparer : {error}",
        "Could not prepare the hold-out: {error}",
    ),
    "tun.suggested": (
        "Suggestion pour « {obj} », jugée sur le jeu de contrôle {h} :",
        'Suggestion for "{obj}", judged on hold-out {h}:',
    ),
    "tun.before": ("Avant", "Before"),
    "tun.after": ("Après", "After"),
    "tun.holdout_metric": ("Jeu de contrôle", "Hold-out"),
    "tun.apply": ("Appliquer à l'éditeur", "Apply to editor"),
    "tun.applied": (
        "Suggestion appliquée à l'éditeur (non publiée).",
        "Suggestion applied to the editor (not published).",
    ),
    "tun.note": ("Note de version", "Version note"),
    "tun.unchanged": (
        "Identique à la version active v{v} : rien à publier.",
        "Same as the active version v{v}: nothing to publish.",
    ),
    "tun.publish": ("Publier", "Publish"),
    "tun.published": (
        "Version v{v} publiée : le détecteur l'utilise dès son prochain lot.",
        "Version v{v} published: the detector uses it from its next batch.",
    ),
    "tun.sec.history": ("Historique des versions", "Version history"),
    "tun.history_count": (
        "{n} versions, la plus récente d'abord (20 par page).",
        "{n} versions, newest first (20 per page).",
    ),
    "tun.history_page": ("Page de l'historique (sur {pages})", "History page (of {pages})"),
    "tun.version": ("v{v} · {label} · {author} · {when}", "v{v} · {label} · {author} · {when}"),
    "tun.is_active": ("active", "active"),
    "tun.what": ("Élément", "What"),
    "tun.no_change": (
        "Aucun changement par rapport à la version précédente.",
        "No change from the previous version.",
    ),
    "tun.rollback": ("Revenir à v{v}", "Roll back to v{v}"),
    "tun.rollback_note": ("retour arrière depuis la page de réglage", "rollback from tuning page"),
    "tun.rolled_back": (
        "Retour à v{v} publié comme v{new}.",
        "Rolled back to v{v}, published as v{new}.",
    ),
    "tun.cv_title": (
        "Validation croisée sur vos propres labels ({k} groupes de clients, hors échantillon) :",
        "Cross-validation on your own labels ({k} customer-grouped folds, out of sample):",
    ),
    "tun.cv_metric": ("Mesure", "Metric"),
    "tun.cv_current": ("Actuel (moyenne ± écart-type)", "Current (mean ± std)"),
    "tun.cv_suggested": ("Suggéré (moyenne ± écart-type)", "Suggested (mean ± std)"),
    "tun.cv_range": ("Suggéré, min..max", "Suggested, min..max"),
    # the words the database stores for the versions it writes itself
    "rs.label.default": ("par défaut", "default"),
    "rs.label.tuning": ("réglage", "tuning"),
    "rs.label.rollback": ("retour à v{v}", "rollback to v{v}"),
    "rs.author.system": ("système", "system"),
    "rs.note.defaults": ("valeurs par défaut intégrées", "built-in defaults"),
}
