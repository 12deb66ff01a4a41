"""The alert queue and the pipeline pages."""

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {
    "queue.total": ("Alertes", "Total alerts"),
    "queue.rate_help": (
        "Alertes / paiements évalués ({payments} paiements)",
        "Alerts / payments scored ({payments} payments)",
    ),
    "queue.high": ("Alertes HIGH", "HIGH alerts"),
    "queue.filters": ("Filtres", "Filters"),
    "queue.status": ("Statut", "Status"),
    "queue.reason": ("Motif (règle)", "Reason (rule)"),
    "queue.score": ("Plage de score", "Score range"),
    "queue.dates": ("Période (date de l'événement)", "Event date range"),
    "queue.customer": ("Identifiant client", "Customer id"),
    "queue.sort": ("Trier par", "Sort by"),
    "queue.sort.score_desc": ("Score décroissant", "Score, highest first"),
    "queue.sort.score_asc": ("Score croissant", "Score, lowest first"),
    "queue.sort.time_desc": ("Date, plus récentes d'abord", "Time, newest first"),
    "queue.sort.time_asc": ("Date, plus anciennes d'abord", "Time, oldest first"),
    "queue.reset": ("Réinitialiser les filtres", "Reset filters"),
    "queue.any": ("Tous", "Any"),
    "queue.select_placeholder": (
        "Choisissez des alertes par identifiant, ou cochez des lignes",
        "Pick alerts by id, or tick rows in the table",
    ),
    "queue.matching": (
        "{n} alertes correspondantes · page {page} sur {pages}",
        "{n} matching alerts · page {page} of {pages}",
    ),
    "queue.more_than": ("plus de {n}", "more than {n}"),
    "queue.page": ("Page", "Page"),
    "queue.empty": (
        "Aucune alerte ne correspond à ces filtres.",
        "No alert matches these filters.",
    ),
    "queue.no_alerts": (
        "Pas encore d'alerte. Générez et rejouez un jeu de données dans l'atelier.",
        "No alerts yet. Generate and replay a dataset in the Dataset studio.",
    ),
    "queue.select": ("Alertes sélectionnées (par identifiant)", "Selected alerts (by id)"),
    "queue.select_help": (
        "Cochez des lignes du tableau ou choisissez des identifiants ici ; les actions "
        "portent sur les identifiants.",
        "Tick rows in the table or pick ids here; actions use the ids.",
    ),
    "queue.detail": ("Détail de l'alerte", "Alert detail"),
    "queue.pick_one": (
        "Sélectionnez une alerte dans le tableau pour voir son détail.",
        "Select an alert in the table to see its detail.",
    ),
    "queue.open": ("Alerte affichée", "Alert shown"),
    "queue.unknown_customer": (
        "Client inconnu : le référentiel clients ne liste pas {customer}. Le paiement a été "
        "évalué comme celui d'un nouveau client.",
        "Unknown customer: the customer reference does not list {customer}. The payment was "
        "scored as a new customer's.",
    ),
    "queue.breakdown": ("Score par règle", "Score by rule"),
    "queue.points": ("Points", "Points"),
    "queue.measured": ("Valeurs mesurées", "Measured"),
    "queue.detail_col": ("Détail", "Detail"),
    "queue.history": ("Historique du client", "Customer history"),
    "queue.payments": ("Paiements antérieurs", "Earlier payments"),
    "queue.no_payments": (
        "Aucun paiement chargé pour ce client.",
        "No payments table loaded for this customer.",
    ),
    "queue.earlier_alerts": ("Alertes antérieures et décisions", "Earlier alerts and decisions"),
    "queue.no_earlier": (
        "Aucune alerte antérieure pour ce client.",
        "No earlier alerts for this customer.",
    ),
    "queue.audit": ("Journal des décisions de cette alerte", "Audit trail of this alert"),
    "queue.no_audit": ("Aucune décision pour l'instant.", "No decision yet."),
    "queue.timeline": ("Parcours de la session", "Session clickstream"),
    "queue.no_clickstream": (
        "Aucun parcours enregistré pour cette session.",
        "No clickstream stored for this session.",
    ),
    "queue.no_session": (
        "Cette alerte n'a pas d'identifiant de session.",
        "This alert has no session id.",
    ),
    "queue.actions": ("Actions", "Actions"),
    "queue.note": ("Note", "Note"),
    "queue.approve": ("Approuver", "Approve"),
    "queue.block": ("Bloquer", "Block"),
    "queue.investigate": ("Investiguer", "Investigate"),
    "queue.bulk": ("Actions groupées", "Bulk actions"),
    "queue.bulk_selected": ("Sur les {n} alertes sélectionnées", "On the {n} selected alerts"),
    "queue.bulk_customer": (
        "Sur toutes les alertes ouvertes du client",
        "On all open alerts of customer",
    ),
    "queue.bulk_device": (
        "Sur toutes les alertes ouvertes de l'appareil",
        "On all open alerts of device",
    ),
    "queue.bulk_note": ("Note (groupée)", "Bulk note"),
    "queue.done": ("{action} : {n} alerte(s) mise(s) à jour.", "{action}: {n} alert(s) updated."),
    "queue.conflict": (
        "Conflit : l'alerte {alert_id} a été modifiée entre-temps par quelqu'un d'autre "
        "(maintenant {status}, par {actor}). Rien n'a été écrasé ; rechargez et décidez à "
        "nouveau.",
        "Conflict: alert {alert_id} was changed by someone else meanwhile (now {status}, by "
        "{actor}). Nothing was overwritten; reload and decide again.",
    ),
    "queue.conflicts": (
        "{n} alerte(s) ignorée(s) : décidée(s) entre-temps par un autre.",
        "{n} alert(s) skipped: decided by someone else meanwhile.",
    ),
    "queue.not_found": ("L'alerte {alert_id} n'existe plus.", "Alert {alert_id} no longer exists."),
    "queue.no_open": ("Aucune alerte ouverte pour {what}.", "No open alert for {what}."),
    "queue.live": ("En direct : actualisé toutes les {s} s", "Live: refreshes every {s} s"),
    "pipe.state": ("État du détecteur", "Detector state"),
    "pipe.source": ("Source", "Source"),
    "pipe.events": ("Événements traités", "Events processed"),
    "pipe.payments": ("Paiements évalués", "Payments scored"),
    "pipe.alerts": ("Alertes levées", "Alerts raised"),
    "pipe.dead": ("Lettres mortes", "Dead letters"),
    "pipe.input": (
        "Entrées répétées, en retard ou datées du futur (depuis le démarrage du détecteur)",
        "Repeated, late or future-dated input (since the detector started)",
    ),
    "pipe.repeated": ("Répétés ignorés", "Repeats ignored"),
    "pipe.repeated_help": (
        "Paiements et événements déjà appliqués (doublons) ou plus anciens que la fenêtre "
        "d'identifiants retenue (KVT_DEDUP_WINDOW_MS) : ignorés, sans effet.",
        "Payments and events already applied (duplicates) or older than the id window kept "
        "(KVT_DEDUP_WINDOW_MS): ignored, no effect.",
    ),
    "pipe.late": ("En retard", "Late"),
    "pipe.late_help": (
        "Événements arrivés après un événement plus récent de leur partition : appliqués, "
        "mais peut-être trop tard pour un paiement déjà évalué.",
        "Events that arrived after a later event of their partition: applied, but maybe too "
        "late for a payment already scored.",
    ),
    "pipe.future": ("Datés du futur", "Future-dated"),
    "pipe.future_help": (
        "Événements trop en avance sur leur partition ou sur l'horloge : en lettres mortes "
        "(future_timestamp), sans effet sur l'ordre ni sur les états.",
        "Events too far ahead of their partition or of the clock: dead-lettered "
        "(future_timestamp), no effect on ordering or states.",
    ),
    "pipe.unknown": ("Clients inconnus", "Unknown customers"),
    "pipe.unknown_help": (
        "Paiements de clients absents du référentiel : signalés ou en lettres mortes "
        "(KVT_UNKNOWN_CUSTOMERS).",
        "Payments of customers the reference does not list: flagged or dead-lettered "
        "(KVT_UNKNOWN_CUSTOMERS).",
    ),
    "pipe.idle_released": ("Libérés par silence", "Released on silence"),
    "pipe.idle_released_help": (
        "Événements libérés parce que la partition de l'autre topic est restée muette "
        "(KVT_ORDER_IDLE_MS) : en fin de flux seulement, jamais pendant qu'il coule.",
        "Events released because the other topic's partition stayed silent "
        "(KVT_ORDER_IDLE_MS): at the end of a stream only, never while it flows.",
    ),
    "pipe.throughput": ("Débit (événements/s)", "Throughput (events/s)"),
    "pipe.no_samples": ("Pas encore de mesure de débit.", "No throughput samples yet."),
    "pipe.lag": ("Retard du consommateur par partition", "Consumer lag per partition"),
    "pipe.no_lag": (
        "Aucun retard signalé (rejeu intégré ou détecteur arrêté).",
        "No partition lag reported (embedded replay or detector stopped).",
    ),
    "pipe.partition": ("Partition", "Partition"),
    "pipe.behind": ("Messages en retard", "Messages behind"),
    "pipe.dead_list": ("Lettres mortes (plus récentes d'abord)", "Dead letters (newest first)"),
    "pipe.no_dead": ("Aucune lettre morte.", "No dead letters."),
    "pipe.ruleset": ("Jeu de règles actif", "Active rule set"),
    "pipe.no_ruleset": (
        "Aucun jeu de règles publié (valeurs par défaut).",
        "No rule set published yet (defaults in use).",
    ),
    "pipe.health": ("Santé des services", "Service health"),
    "pipe.thread": ("Thread du détecteur", "Detector thread"),
    "pipe.alive": ("actif", "alive"),
    "pipe.not_running": ("arrêté", "not running"),
    "pipe.not_configured": ("non configuré", "not configured"),
    "pipe.payload": ("Contenu de la lettre morte", "Payload of dead letter"),
    "queue.act": ("{action} {alert_id}", "{action} {alert_id}"),
    "queue.deciding_on": (
        "Décision sur {alert_id} (affichée : {status}, version {version})",
        "Decision on {alert_id} (as shown: {status}, version {version})",
    ),
    "queue.redecide_title": ("Changer une décision ?", "Change a decision?"),
    "queue.redecide": (
        "{alert_id} est déjà décidée : {status}, par {actor} le {at}. "
        "La remplacer par « {action} » ?",
        "{alert_id} is already decided: {status}, by {actor} on {at}. Replace it with “{action}”?",
    ),
    "queue.previous_note": ("Note de cette décision", "Note of that decision"),
    "queue.confirm": ("Confirmer : {action}", "Confirm: {action}"),
    "queue.cancel": ("Annuler", "Cancel"),
    "queue.bulk_title": ("Confirmer une décision groupée", "Confirm a bulk decision"),
    "queue.bulk_confirm": ("{action} sur {n} alerte(s) :", "{action} on {n} alert(s):"),
    "queue.bulk_decided": (
        "{n} d'entre elles sont déjà décidées et vont changer.",
        "{n} of them are already decided and will change.",
    ),
    "queue.bulk_none": ("Aucune alerte à décider.", "No alert to decide."),
    "queue.gone": (
        "L'alerte sélectionnée n'existe plus (son jeu de données a été vidé) ; "
        "la sélection a été vidée.",
        "The selected alert no longer exists (its dataset was cleared); the selection was emptied.",
    ),
    "queue.off_page": (
        "{alert_id} n'est pas sur cette page ou ce filtre ; son détail reste ouvert plus bas.",
        "{alert_id} is not on this page or filter; its detail stays open below.",
    ),
    "queue.no_such": ("Il n'y a pas d'alerte {alert_id}.", "There is no alert {alert_id}."),
    "queue.col.id": ("Alerte", "Alert"),
    "queue.col.age": ("Âge", "Age"),
    "queue.col.time": ("Date de l'événement (UTC)", "Event time (UTC)"),
    "queue.col.amount": ("Montant (€)", "Amount (€)"),
    "queue.col.score": ("Score", "Score"),
    "queue.age.d": ("{n} j", "{n} d"),
    "queue.age.h": ("{n} h", "{n} h"),
    "queue.age.m": ("{n} min", "{n} min"),
    "queue.h.from": ("De", "From"),
    "queue.h.to": ("Vers", "To"),
    "queue.h.conflict": ("Conflit (tentative perdue)", "Conflict (lost race)"),
    "queue.h.currency": ("Devise", "Currency"),
    "queue.h.result": ("Issue du paiement", "Payment result"),
    "queue.h.decided_by": ("Décidée par", "Decided by"),
    "queue.h.kind": ("Type", "Kind"),
}
