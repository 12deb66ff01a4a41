"""Datasets as a dimension of the alerts: the picker of the queue, insights and pipeline
pages, and the studio's question when a replay meets another dataset's alerts."""

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {
    "ds.pick_help": (
        "Les alertes affichées viennent de ce jeu de données : le flux en direct ou un jeu "
        "rejoué. Par défaut, le direct, sinon le dernier jeu évalué.",
        "The alerts shown come from this dataset: the live stream or a replayed dataset. By "
        "default the live one, else the latest dataset scored.",
    ),
    "ds.live": ("En direct (Kafka)", "Live (Kafka)"),
    "ds.unattributed": ("Alertes antérieures (jeu inconnu)", "Earlier alerts (dataset unknown)"),
    "ds.option": ("{name} · {n} alertes", "{name} · {n} alerts"),
    "ds.replay_title": ("Rejouer un jeu de données", "Replay a dataset"),
    "ds.replay_others": (
        "La base contient déjà des alertes d'autres jeux de données : {others}. Les "
        "conserver (chaque page les sépare par jeu de données) ou les effacer avant de "
        "rejouer « {name} » ?",
        "The database already holds alerts of other datasets: {others}. Keep them (every page "
        'shows one dataset at a time) or clear them before replaying "{name}"?',
    ),
    "ds.replay_decided": (
        "{n} de ces alertes portent une décision d'analyste : elles sont conservées même si "
        "vous effacez (une décision n'est jamais effacée).",
        "{n} of these alerts carry an analyst's decision: they are kept even if you clear "
        "(a decision is never erased).",
    ),
    "ds.keep": ("Conserver et rejouer", "Keep them and replay"),
    "ds.clear": ("Effacer et rejouer", "Clear them and replay"),
    "ds.replay_cleared": (
        "Rejeu de « {name} » lancé ; {n} alertes d'autres jeux effacées.",
        'Replay of "{name}" started; {n} alerts of other datasets cleared.',
    ),
    "ds.scored_now": (
        "Le détecteur évalue ce jeu de données : les compteurs du haut sont les siens.",
        "The detector is scoring this dataset: the counters at the top are its own.",
    ),
    "ds.not_scored": (
        "Le détecteur n'évalue pas ce jeu de données en ce moment : les compteurs du haut sont "
        "ceux de la source « {source} ».",
        "The detector is not scoring this dataset now: the counters at the top are those of "
        'the source "{source}".',
    ),
    "ds.last_alert": ("Dernière alerte écrite", "Last alert written"),
    "ds.payments": ("Paiements du jeu", "Dataset payments"),
}
