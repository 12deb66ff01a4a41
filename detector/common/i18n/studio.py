"""The dataset studio."""

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {
    "st.tab.datasets": ("Jeux de données", "Datasets"),
    "st.gen.help": (
        "Mêmes paramètres et même graine = fichiers identiques à l'octet près.",
        "The same seed and parameters give byte-identical files.",
    ),
    "st.seed": ("Graine", "Seed"),
    "st.scale": ("Échelle", "Scale"),
    "st.customers": ("Nombre de clients", "Number of customers"),
    "st.customers_help": (
        "25 au moins ; 2 500 clients font ~7 600 paiements et ~72 000 événements.",
        "At least 25; 2,500 customers make ~7,600 payments and ~72,000 events.",
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
        "Les fichiers du jeu (CSV, events.jsonl ou events.parquet, manifest.json) à la "
        "racine ou dans un seul dossier.",
        "The dataset files (CSV, events.jsonl or events.parquet, manifest.json) at the root "
        "or in one folder.",
    ),
    "st.imported": (
        "« {name} » importé ({layout}, {payments} paiements).",
        'Imported "{name}" ({layout}, {payments} payments).',
    ),
    "st.skipped": ("Fichiers ignorés : {files}.", "Ignored files: {files}."),
    "st.err.title": ("Opération refusée, rien n'a été écrit.", "Refused: nothing was written."),
    "st.err.file": ("fichier {file}", "file {file}"),
    "st.err.line": ("ligne {line}", "line {line}"),
    "st.err.column": ("colonne {column}", "column {column}"),
    # Why the studio refused (desk.studio.StudioError.key; the English is its message).
    "st.why.bad_name": (
        "nom de jeu de données {name} : 1 à 80 lettres, chiffres, « . », « _ » ou « - », "
        "en commençant par une lettre ou un chiffre",
        "dataset name {name}: use 1-80 letters, digits, '.', '_' or '-', "
        "starting with a letter or digit",
    ),
    "st.why.reserved_name": (
        "le nom {name} est réservé aux alertes du flux en direct",
        "dataset name {name} is reserved for the live stream's alerts",
    ),
    "st.why.exists": (
        "le jeu de données {name} existe déjà ; choisissez un autre nom",
        "dataset {name} already exists; pick another name",
    ),
    "st.why.generate_failed": ("génération impossible : {error}", "generation failed: {error}"),
    "st.why.refused": (
        "la vérification d'import refuse ce jeu de données",
        "the import check refused the dataset",
    ),
    "st.why.unreadable": ("jeu de données illisible", "the dataset could not be read"),
    "st.why.not_directory": ("{path} : pas un répertoire", "{path}: not a directory"),
    "st.why.link": (
        "{path} : un lien symbolique, pas un fichier",
        "{path}: a symbolic link, not a file",
    ),
    "st.why.entries": (
        "le zip contient {count} entrées, au-delà de la limite de {limit}",
        "zip holds {count} entries, over the limit of {limit}",
    ),
    "st.why.entry_backslash": (
        "entrée {entry} du zip refusée : barre oblique inverse dans le chemin",
        "zip entry {entry} rejected: backslash in path",
    ),
    "st.why.entry_absolute": (
        "entrée {entry} du zip refusée : chemin absolu",
        "zip entry {entry} rejected: absolute path",
    ),
    "st.why.entry_dotdot": (
        "entrée {entry} du zip refusée : « .. » dans le chemin (sortirait du répertoire d'import)",
        "zip entry {entry} rejected: '..' in path (would escape the import directory)",
    ),
    "st.why.entry_link": (
        "entrée {entry} du zip refusée : lien symbolique",
        "zip entry {entry} rejected: symbolic link",
    ),
    "st.why.entry_encrypted": (
        "entrée {entry} du zip refusée : entrée chiffrée",
        "zip entry {entry} rejected: encrypted entry",
    ),
    "st.why.entry_type": (
        "entrée {entry} du zip refusée : type de fichier {suffix} non autorisé "
        "(autorisés : {allowed})",
        "zip entry {entry} rejected: file type {suffix} not allowed (allowed: {allowed})",
    ),
    "st.why.entry_no_type": (
        "entrée {entry} du zip refusée : fichier sans extension (autorisées : {allowed})",
        "zip entry {entry} rejected: file type (none) not allowed (allowed: {allowed})",
    ),
    "st.why.twice": (
        "le zip contient {name} deux fois ({first} et {second})",
        "zip holds {name} twice ({first} and {second})",
    ),
    "st.why.entry_ratio": (
        "entrée {entry} du zip refusée : compressée à {ratio}:1, au-delà de la limite de "
        "{limit}:1 (une bombe zip ?)",
        "zip entry {entry} rejected: compressed {ratio}:1, over the {limit}:1 limit (a zip bomb?)",
    ),
    "st.why.folders": (
        "les fichiers du jeu de données sont répartis dans plusieurs dossiers : {folders}",
        "dataset files are spread over several folders: {folders}",
    ),
    "st.why.expands": (
        "le zip se décompresserait en {mb} Mo, au-delà de la limite de {limit} Mo",
        "zip would expand to {mb} MB, over the {limit} MB limit",
    ),
    "st.why.no_files": (
        "le zip ne contient aucun fichier de jeu de données (payments.csv, customers.csv…)",
        "zip holds no dataset files (payments.csv, customers.csv, …)",
    ),
    "st.why.expands_beyond": (
        "le zip se décompresse au-delà de la limite de taille",
        "zip expands beyond the size limit",
    ),
    "st.why.upload_size": (
        "le fichier envoyé fait {mb} Mo, au-delà de la limite de {limit} Mo",
        "upload is {mb} MB, over the {limit} MB limit",
    ),
    "st.why.upload_over": (
        "le fichier envoyé dépasse la limite de {limit} Mo",
        "upload is over the {limit} MB limit",
    ),
    "st.why.not_zip": (
        "le fichier envoyé n'est pas une archive zip",
        "the upload is not a zip archive",
    ),
    "st.why.damaged": (
        "l'archive zip est endommagée : {error}",
        "the zip archive is damaged: {error}",
    ),
    "st.why.manifest_json": (
        "{name} : pas du JSON UTF-8 valide ({error})",
        "{name}: not valid UTF-8 JSON ({error})",
    ),
    "st.why.manifest_object": (
        "{name} : un objet JSON est attendu",
        "{name}: a JSON object is expected",
    ),
    "st.why.no_broker": (
        "aucun broker Kafka configuré (KVT_KAFKA_BOOTSTRAP) : utilisez le rejeu",
        "no Kafka broker configured (KVT_KAFKA_BOOTSTRAP): use the replay",
    ),
    "st.why.stream_failed": (
        "{count} message(s) en échec : {error}",
        "{count} message(s) failed: {error}",
    ),
    "st.why.streaming": (
        "un envoi de {name} est déjà en cours",
        "a stream of {name} is already running",
    ),
    "st.check": ("Contrôle d'import", "Import check"),
    "st.check_help": (
        "Ce qui, dans ces données, fausserait les règles : erreur = import refusé, "
        "avertissement = importé, à lire. « sans objet » : la règle se déclenche pour une "
        "raison étrangère à la fraude ; « aveugle » : elle ne peut pas se déclencher.",
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
    "st.check.finding": ("Constat", "Finding"),
    "st.check.rows": ("Lignes", "Rows"),
    "st.check.examples": ("Exemples", "Examples"),
    "st.check.rules": ("Règles touchées", "Rules affected"),
    "st.check.inputs": ("Données présentes", "Inputs present"),
    "st.check.fires": ("Se déclenche sur", "Fires on"),
    "st.check.meaningless": ("sans objet", "meaningless"),
    "st.check.blind": ("aveugle", "blind"),
    # generation progress (the English is also what the command line prints)
    "gen.starting": ("préparation", "starting"),
    "gen.customers": ("{done}/{total} clients générés", "generated {done}/{total} customers"),
    "gen.ordering": ("tri des événements {done}/{total}", "ordering events {done}/{total}"),
    "gen.done": ("terminé", "done"),
    "st.mb": ("{n} Mo", "{n} MB"),
    # a dataset's row counts per table (desk.studio.Summary.counts)
    "st.count.customers": ("{n} clients", "{n} customers"),
    "st.count.products": ("{n} produits", "{n} products"),
    "st.count.sessions": ("{n} sessions", "{n} sessions"),
    "st.count.orders": ("{n} commandes", "{n} orders"),
    "st.count.order_items": ("{n} lignes de commande", "{n} order lines"),
    "st.count.payments": ("{n} paiements", "{n} payments"),
}
