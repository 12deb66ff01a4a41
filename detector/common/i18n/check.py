"""The import check's findings (``data_gen.check``): one key per wording, values as fields.

``{count}`` is built from the finding's ``n`` and ``total`` ("120 of 400 (30%)"); ``{place}``
from the file, line or row and column of a row the reader refused.
"""

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {
    "chk.count": ("{n} sur {total} ({pct})", "{n} of {total} ({pct})"),
    "chk.place.line": ("{file} ligne {line}", "{file} line {line}"),
    "chk.events_either": ("{jsonl} ou {parquet}", "{jsonl} or {parquet}"),
    "chk.place.row": ("{file} rangée {row}", "{file} row {row}"),
    "chk.place.column": ("{place}, colonne {column}", "{place}, column {column}"),
    "chk.read": ("{place} : {detail}", "{place}: {detail}"),
    # Why a file or a row could not be read (``{detail}`` of chk.read); ``{value}`` is the
    # value quoted as the file holds it, ``{error}`` the parser's own words.
    "chk.why.empty": ("valeur obligatoire vide", "required value is empty"),
    "chk.why.duplicate": ("{value} est en double", "{value} is a duplicate"),
    "chk.why.unknown_ref": ("{value} n'est pas dans {target}", "{value} is not in {target}"),
    "chk.why.not_one_of": ("{value} n'est pas l'un de {names}", "{value} is not one of {names}"),
    "chk.why.not_device": (
        "{value} n'est pas un appareil connu ({names})",
        "{value} is not a known device ({names})",
    ),
    "chk.why.not_country": (
        "{value} n'est pas un code pays ISO 3166-1 alpha-2",
        "{value} is not an ISO 3166-1 alpha-2 country code",
    ),
    "chk.why.not_zone": (
        "{value} n'est pas un fuseau horaire connu (un nom IANA comme Europe/Paris)",
        "{value} is not a known time zone (an IANA name such as Europe/Paris)",
    ),
    "chk.why.not_timestamp": (
        "{value} n'est pas un horodatage ISO 8601",
        "{value} is not an ISO-8601 timestamp",
    ),
    "chk.why.not_number": ("{value} n'est pas un nombre", "{value} is not a number"),
    "chk.why.not_finite": ("{value} n'est pas un nombre fini", "{value} is not a finite number"),
    "chk.why.not_integer": ("{value} n'est pas un nombre entier", "{value} is not a whole number"),
    "chk.why.not_boolean": ("{value} n'est pas un booléen", "{value} is not a boolean"),
    "chk.why.not_label": ("{value} n'est pas une étiquette 0/1", "{value} is not a 0/1 label"),
    "chk.why.missing_column": ("colonne obligatoire absente", "required column is missing"),
    "chk.why.empty_csv": (
        "fichier vide, une ligne d'en-tête est attendue",
        "file is empty, a header line is expected",
    ),
    "chk.why.field_count": (
        "{expected} champs attendus, {found} trouvés",
        "expected {expected} fields, found {found}",
    ),
    "chk.why.unreadable_csv": ("CSV illisible ({error})", "unreadable CSV ({error})"),
    "chk.why.bad_json": (
        "{value} n'est pas du JSON valide ({error})",
        "{value} is not valid JSON ({error})",
    ),
    "chk.why.not_object": ("un objet JSON est attendu", "a JSON object is expected"),
    "chk.why.unreadable_parquet": (
        "fichier Parquet illisible ({error})",
        "unreadable Parquet file ({error})",
    ),
    "chk.why.empty_file": ("fichier vide", "file is empty"),
    "chk.why.not_found": ("fichier absent de {directory}", "file not found in {directory}"),
    "chk.why.no_directory": (
        "répertoire du jeu de données introuvable",
        "dataset directory not found",
    ),
    "chk.payment_outside_session": (
        "{count} paiements rattachés à une session connue tombent hors de son début..fin",
        "{count} payments with a known session fall outside that session's start..end",
    ),
    "chk.payment_before_signup": (
        "{count} paiements précèdent l'inscription de leur client",
        "{count} payments precede their customer's signup",
    ),
    "chk.event_after_session_end": (
        "{count} événements viennent après la fin de leur session",
        "{count} events come after their session's end",
    ),
    "chk.no_cart_before_payment": (
        "{count} paiements rattachés à une session n'ont aucun add_to_cart avant eux dans "
        "cette session",
        "{count} payments with a session have no add_to_cart before them in that session",
    ),
    "chk.device_unique_per_payment": (
        "{count} paiements de clients qui paient plus d'une fois portent un device_id vu sur "
        "aucun autre paiement",
        "{count} payments of customers who pay more than once carry a device_id seen on no "
        "other payment",
    ),
    "chk.unknown_id": (
        "{file} : {count} lignes citent un {column} que {target} ne définit pas",
        "{file}: {count} rows name a {column} that {target} does not define",
    ),
    "chk.timestamp_without_zone": (
        "{file} : {n} valeurs de {column} sans fuseau horaire, lues comme UTC",
        "{file}: {n} {column} values name no time zone and were read as UTC",
    ),
    "chk.zone_from_country": (
        "{n} clients sans valeur dans la colonne de fuseau : celui de leur pays a été pris",
        "{n} customers have no time zone column value: their country's zone was taken",
    ),
    "chk.zone_guessed": (
        "{country} a {zones} fuseaux horaires : le plus peuplé, {zone} ({people} de ses "
        "habitants), pris pour {customers} clients (ajoutez une colonne timezone pour être exact)",
        "{country} has {zones} time zones: its most populous, {zone} ({people} of its people), "
        "taken for {customers} customers (add a timezone column to be exact)",
    ),
    "chk.zone_guessed.first": (
        "{country} a {zones} fuseaux horaires : le premier de zone.tab, {zone}, pris pour "
        "{customers} clients (ajoutez une colonne timezone pour être exact)",
        "{country} has {zones} time zones: zone.tab's first, {zone}, taken for {customers} "
        "customers (add a timezone column to be exact)",
    ),
    "chk.zone_guessed.none": (
        "{country} n'a pas de fuseau horaire propre : {zone} supposé pour {customers} clients "
        "(ajoutez une colonne timezone pour être exact)",
        "{country} has no time zone of its own: {zone} assumed for {customers} customers "
        "(add a timezone column to be exact)",
    ),
    "chk.labels": (
        "{labelled} paiements étiquetés, {frauds} fraudes (prévalence {prevalence})",
        "{labelled} labelled payments, {frauds} frauds (prevalence {prevalence})",
    ),
    "chk.labels.none": (
        "aucune étiquette de fraude (is_fraud / is_fraud_label) : les alertes peuvent être "
        "calculées, pas jugées ni réglées",
        "no fraud labels (is_fraud / is_fraud_label): alerts can be scored, not judged or tuned",
    ),
    "chk.labels_partial": (
        "{count} paiements sans étiquette (comptés comme légitimes en précision et rappel)",
        "{count} payments have no label (counted as legitimate in precision and recall)",
    ),
    "chk.few_frauds": (
        "seulement {frauds} fraudes étiquetées (< {min}) : des points réglés et des chiffres "
        "de précision et de rappel ne seraient que du bruit",
        "only {frauds} labelled frauds (< {min}): tuned points and precision/recall figures "
        "would be noise",
    ),
    "chk.rule_input_missing": (
        "{rule} : aucun paiement n'a {inputs}",
        "{rule}: no payment has {inputs}",
    ),
    "chk.rule_fires_too_often": (
        "{rule} se déclenche sur {rate} des {scored} paiements évalués",
        "{rule} fires on {rate} of {scored} payments scored",
    ),
    "chk.rule_never_fires": (
        "{rule} ne se déclenche sur aucun des {scored} paiements évalués",
        "{rule} fires on none of {scored} payments scored",
    ),
}
