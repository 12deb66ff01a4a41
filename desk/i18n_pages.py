"""French and English text of the insights, rule-tuning and dataset-studio pages.

``text(key, lang, **fmt)`` looks a key up in the chosen language, then in English, then
returns the key itself, so a gap never breaks a page.  Each entry is ``key: (fr, en)``, which
keeps both languages side by side and in step (a test checks every key has both).
"""

from __future__ import annotations

LANGS = ("fr", "en")

_T: dict[str, tuple[str, str]] = {
    # ------------------------------------------------------------------ shared
    "csv": ("Télécharger le CSV", "Download CSV"),
    "unknown": ("inconnu", "unknown"),
    "db_error": (
        "Base de données injoignable : réessayez dans un instant.",
        "The database cannot be reached: try again in a moment.",
    ),
    "yes": ("oui", "yes"),
    "no": ("non", "no"),
    "ax.alerts": ("Alertes", "Alerts"),
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
    "ax.precision": ("Précision", "Precision"),
    "ax.source": ("Mesurée par", "Measured from"),
    "ax.scenario": ("Scénario de fraude", "Fraud scenario"),
    "ax.score_threshold": ("Seuil de score", "Score threshold"),
    "ax.share": ("Part", "Share"),
    "act.APPROVE": ("Approuvée", "Approved"),
    "act.BLOCK": ("Bloquée", "Blocked"),
    "act.INVESTIGATE": ("Mise en investigation", "Sent to investigation"),
    "sc.card_testing": ("Test de cartes", "Card testing"),
    "sc.stolen_card_new_account": (
        "Carte volée, compte neuf",
        "Stolen card, new account",
    ),
    "sc.account_takeover": ("Prise de contrôle de compte", "Account takeover"),
    "sc.device_ring": ("Réseau d'appareils", "Device ring"),
    "sc.low_signal": ("Fraude discrète", "Low-signal fraud"),
    "sc.(none)": ("(sans scénario)", "(no scenario)"),
    "col.id": ("Identifiant", "Id"),
    "col.rule": ("Règle", "Rule"),
    "col.enabled": ("Active", "Enabled"),
    "col.points": ("Points", "Points"),
    "col.param": ("Paramètre [bornes]", "Parameter [bounds]"),
    "col.value": ("Valeur", "Value"),
    "col.payment": ("Paiement", "Payment"),
    "col.customer": ("Client", "Customer"),
    "col.time": ("Date (UTC)", "Time (UTC)"),
    "col.amount": ("Montant", "Amount"),
    "col.is_fraud": ("Fraude (label)", "Fraud (label)"),
    "field.alert_threshold": ("Seuil d'alerte", "Alert threshold"),
    "field.high_threshold": ("Seuil HIGH", "HIGH threshold"),
    "m.precision": ("Précision", "Precision"),
    "m.recall": ("Rappel", "Recall"),
    "m.f1": ("F1", "F1"),
    "m.alert_rate": ("Taux d'alerte", "Alert rate"),
    "m.alerts": ("Alertes", "Alerts"),
    "m.auc_pr": ("AUC-PR", "AUC-PR"),
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
    # ------------------------------------------------------------------ validation
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
        "le seuil d'alerte ({alert}) doit être inférieur ou égal au seuil HIGH ({high})",
        "the alert threshold ({alert}) must not exceed the HIGH threshold ({high})",
    ),
    "diff.initial": ("Version initiale", "Initial version"),
    # ------------------------------------------------------------------ insights
    "ins.title": ("Analyses", "Insights"),
    "ins.empty": (
        "Pas encore d'alerte à analyser. Générez un jeu de données et rejouez-le dans "
        "l'atelier de données.",
        "No alerts to analyse yet. Generate a dataset and replay it in the Dataset studio.",
    ),
    "ins.kpi.alerts": ("Alertes", "Alerts"),
    "ins.kpi.rate": ("Taux d'alerte", "Alert rate"),
    "ins.kpi.rate_help": (
        "Alertes / paiements chargés en base ({payments} paiements)",
        "Alerts / payments loaded in the database ({payments} payments)",
    ),
    "ins.kpi.high": ("Alertes HIGH", "HIGH alerts"),
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
        "Moyen de paiement « inconnu » : la table des paiements n'est pas chargée "
        "(atelier de données → Charger en base).",
        'Payment method "unknown": the payments table is not loaded '
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
    # ------------------------------------------------------------------ tuning
    "tun.title": ("Réglage des règles", "Rule tuning"),
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
        "Fits points and a threshold on this dataset, then judges them on a hold-out "
        "dataset generated with the same parameters (seed + 1000). Nothing is applied "
        "until you say so.",
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
    "tun.cv_title": (
        "Validation croisée sur vos propres labels ({k} groupes de clients, hors échantillon) :",
        "Cross-validation on your own labels ({k} customer-grouped folds, out of sample):",
    ),
    "tun.cv_metric": ("Mesure", "Metric"),
    "tun.cv_current": ("Actuel (moyenne ± écart-type)", "Current (mean ± std)"),
    "tun.cv_suggested": ("Suggéré (moyenne ± écart-type)", "Suggested (mean ± std)"),
    "tun.cv_range": ("Suggéré, min..max", "Suggested, min..max"),
    "tun.apply": ("Appliquer à l'éditeur", "Apply to editor"),
    "tun.applied": (
        "Suggestion appliquée à l'éditeur (non publiée).",
        "Suggestion applied to the editor (not published).",
    ),
    "tun.sec.publish": ("Publier", "Publish"),
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
    # ------------------------------------------------------------------ studio
    "st.title": ("Atelier de données", "Dataset studio"),
    "st.tab.generate": ("Générer", "Generate"),
    "st.tab.datasets": ("Jeux de données", "Datasets"),
    "st.tab.import": ("Importer", "Import"),
    "st.gen.help": (
        "Mêmes paramètres et même graine = fichiers identiques à l'octet près.",
        "The same seed and parameters give byte-identical files.",
    ),
    "st.seed": ("Graine", "Seed"),
    "st.scale": ("Échelle", "Scale"),
    "st.scale_help": (
        "1 = 2 500 clients, ~7 600 paiements, ~72 000 événements.",
        "1 = 2,500 customers, ~7,600 payments, ~72,000 events.",
    ),
    "st.fraud_rate": ("Taux de fraude", "Fraud rate"),
    "st.start": ("Premier jour", "Start date"),
    "st.days": ("Nombre de jours", "Days"),
    "st.name": ("Nom du jeu", "Dataset name"),
    "st.name_help": (
        "Lettres, chiffres, '.', '_' ou '-' ; vide = nom tiré des paramètres.",
        "Letters, digits, '.', '_' or '-'; empty = a name from the parameters.",
    ),
    "st.overwrite": ("Remplacer s'il existe", "Replace if it exists"),
    "st.mix": (
        "Répartition des scénarios de fraude (poids relatifs)",
        "Fraud scenario mix (relative weights)",
    ),
    "st.generate": ("Générer", "Generate"),
    "st.generating": ("Génération…", "Generating…"),
    "st.generated": ("Jeu de données « {name} » généré.", 'Dataset "{name}" generated.'),
    "st.bad_params": ("Paramètres invalides : {error}", "Invalid parameters: {error}"),
    "st.none": (
        "Aucun jeu de données : générez-en un ou importez-en un.",
        "No dataset yet: generate or import one.",
    ),
    "st.dataset": ("Jeu de données", "Dataset"),
    "st.size": ("Taille", "Size"),
    "st.payments": ("Paiements", "Payments"),
    "st.frauds": ("Fraudes", "Frauds"),
    "st.modified": ("Modifié le {when} UTC", "Modified {when} UTC"),
    "st.params": ("Paramètres : {p}", "Parameters: {p}"),
    "st.preview": ("Aperçu des fichiers", "File preview"),
    "st.summary": ("Résumé", "Summary"),
    "st.layout": (
        "Format : {layout} · labels : {labelled}",
        "Layout: {layout} · labels: {labelled}",
    ),
    "st.per_day.title": ("Paiements et fraudes par jour", "Payments and frauds per day"),
    "st.by_scenario.title": ("Paiements frauduleux par scénario", "Fraud payments by scenario"),
    "st.no_fraud": ("Aucune fraude étiquetée.", "No labelled fraud."),
    "st.download": ("Télécharger en zip", "Download as zip"),
    "st.load": ("Charger en base", "Load into the database"),
    "st.load_help": (
        "Charge clients, produits, sessions, commandes et paiements (idempotent : les lignes "
        "déjà présentes sont ignorées).",
        "Loads customers, products, sessions, orders and payments (idempotent: rows already "
        "there are skipped).",
    ),
    "st.load_btn": ("Charger", "Load"),
    "st.loading": ("Chargement…", "Loading…"),
    "st.load_progress": (
        "{table} : {done}/{total} lignes ({rate} lignes/s)",
        "{table}: {done}/{total} rows ({rate} rows/s)",
    ),
    "st.loaded_bar": ("Chargé", "Loaded"),
    "st.loaded": (
        "{rows} lignes lues, {new} nouvelles, en {s} s.",
        "{rows} rows read, {new} new, in {s} s.",
    ),
    "st.stream": ("Rejouer dans le détecteur", "Replay into the detector"),
    "st.replay_help": (
        "Mode intégré (sans broker) : le détecteur de l'application rejoue le jeu de données "
        "en temps d'événement ; un nouveau rejeu remplace le précédent.",
        "Embedded mode (no broker): the app's detector replays the dataset in event time; a "
        "new replay replaces the previous one.",
    ),
    "st.stream_help": (
        "Envoie les événements, paiements et commandes dans Kafka, dans l'ordre des "
        "événements ; le détecteur les consomme.",
        "Sends the events, payments and orders to Kafka in event order; the detector "
        "consumes them.",
    ),
    "st.speed": ("Vitesse", "Speed"),
    "st.speed_help": (
        "×60 = une minute de temps boutique par seconde.",
        "×60 = one minute of shop time per second.",
    ),
    "st.speed.max": ("aussi vite que possible", "as fast as possible"),
    "st.speed.x": ("×{x}", "×{x}"),
    "st.replay_btn": ("Rejouer", "Replay"),
    "st.stream_btn": ("Envoyer dans Kafka", "Stream into Kafka"),
    "st.replay_started": ("Rejeu de « {name} » lancé.", 'Replay of "{name}" started.'),
    "st.stream_started": ("Envoi de « {name} » lancé.", 'Streaming of "{name}" started.'),
    "st.stop_stream": ("Arrêter l'envoi", "Stop streaming"),
    "st.live": ("Détecteur : {state} · source : {source}", "Detector: {state} · source: {source}"),
    "st.c.events": ("Événements traités", "Events processed"),
    "st.c.payments": ("Paiements évalués", "Payments scored"),
    "st.c.alerts": ("Alertes levées", "Alerts raised"),
    "st.c.rate": ("Événements/s", "Events/s"),
    "st.c.sent": (
        "{name} : {done}/{total} messages envoyés",
        "{name}: {done}/{total} messages sent",
    ),
    "st.import_help": (
        "Un répertoire ou un zip au format de l'application ou un export du prototype "
        "KiVendTout ; il est entièrement vérifié avant d'être ajouté.",
        "A directory or zip in the app's layout or a KiVendTout prototype export; it is "
        "fully checked before it is added.",
    ),
    "st.import_dir": ("Depuis un répertoire du serveur", "From a directory on the server"),
    "st.dir_path": ("Chemin du répertoire", "Directory path"),
    "st.import_btn": ("Importer", "Import"),
    "st.import_zip": ("Depuis un zip", "From a zip"),
    "st.zip": ("Archive zip (max. {mb} Mo)", "Zip archive (max {mb} MB)"),
    "st.zip_help": (
        "Les fichiers du jeu (CSV, events.jsonl ou events.parquet, manifest.json) à la racine "
        "ou dans un seul dossier.",
        "The dataset files (CSV, events.jsonl or events.parquet, manifest.json) at the root "
        "or in one folder.",
    ),
    "st.imported": (
        "« {name} » importé ({layout}, {payments} paiements).",
        'Imported "{name}" ({layout}, {payments} payments).',
    ),
    "st.skipped": ("Fichiers ignorés : {files}.", "Ignored files: {files}."),
    "st.check": ("Contrôle d'import", "Import check"),
    "st.check_help": (
        "Ce qui, dans ces données, fausserait les règles : erreur = import refusé, "
        "avertissement = importé, à lire. « sans objet » : la règle se déclenche pour une raison "
        "étrangère à la fraude ; « aveugle » : elle ne peut pas se déclencher.",
        "What in this data would mislead the rules: error = import refused, warning = "
        "imported, read it. 'meaningless': the rule fires for a reason unrelated to fraud; "
        "'blind': it cannot fire.",
    ),
    "st.check_summary": (
        "{errors} erreur(s), {warnings} avertissement(s), contrôlé en {seconds} s.",
        "{errors} error(s), {warnings} warning(s), checked in {seconds} s.",
    ),
    "st.check_warnings": (
        "Contrôle d'import : {n} avertissement(s), voir « Contrôle d'import ».",
        "Import check: {n} warning(s), see 'Import check'.",
    ),
    "st.check.severity": ("Gravité", "Severity"),
    "st.check.finding": ("Constat", "Finding"),
    "st.check.rows": ("Lignes", "Rows"),
    "st.check.examples": ("Exemples", "Examples"),
    "st.check.rules": ("Règles touchées", "Rules affected"),
    "st.check.rule": ("Règle", "Rule"),
    "st.check.inputs": ("Données présentes", "Inputs present"),
    "st.check.fires": ("Se déclenche sur", "Fires on"),
    "st.check.meaningless": ("sans objet", "meaningless"),
    "st.check.blind": ("aveugle", "blind"),
    "st.err.title": ("Opération refusée, rien n'a été écrit.", "Refused: nothing was written."),
    "st.err.file": ("fichier {file}", "file {file}"),
    "st.err.line": ("ligne {line}", "line {line}"),
    "st.err.column": ("colonne {column}", "column {column}"),
}

TEXT: dict[str, dict[str, str]] = {
    lang: {k: v[i] for k, v in _T.items()} for i, lang in enumerate(LANGS)
}


def text(key: str, lang: str, **fmt: object) -> str:
    """Text for ``key`` in ``lang`` (French or English); the key itself when unknown."""
    table = TEXT.get(lang) or TEXT["en"]
    template = table.get(key) or TEXT["en"].get(key) or key
    if not fmt:
        return template
    try:
        return template.format(**fmt)
    except (KeyError, IndexError, ValueError):
        return template
