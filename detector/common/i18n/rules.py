"""Rule labels, parameter names and hit explanations (format fields: the measured values)."""

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {
    "rule.FIRST_PAYMENT": ("💳 Premier paiement", "💳 First payment"),
    "rule.NEW_CUSTOMER": ("🆕 Nouveau client", "🆕 New customer"),
    "param.NEW_CUSTOMER.days": ("compte de moins de (jours)", "account younger than (days)"),
    "rule.UNUSUAL_HOUR": ("🌙 Horaire suspect (2h-6h)", "🌙 Unusual hour (2am-6am)"),
    "param.UNUSUAL_HOUR.start_hour": ("à partir de (heure locale)", "from hour (local)"),
    "param.UNUSUAL_HOUR.end_hour": ("jusqu'à (heure locale)", "until hour (local)"),
    "rule.MOBILE_DEVICE": ("📱 Appareil mobile", "📱 Mobile device"),
    "rule.DIRECT_TRAFFIC": ("🔗 Trafic direct", "🔗 Direct traffic"),
    "rule.PAYMENT_FAILED": ("❌ Paiement échoué", "❌ Payment failed"),
    "rule.VELOCITY_HIGH": (
        "⚡ Vélocité élevée (3+ paiements/10min)",
        "⚡ High velocity (3+ payments/10 min)",
    ),
    "param.VELOCITY_HIGH.min_payments": ("paiements au moins", "payments at least"),
    "param.VELOCITY_HIGH.window_minutes": ("fenêtre (minutes)", "window (minutes)"),
    "rule.NEW_DEVICE": ("📲 Nouvel appareil détecté", "📲 New device detected"),
    "rule.UNUSUAL_AMOUNT": ("💰 Montant inhabituel (>3x moyenne)", "💰 Unusual amount (>3x mean)"),
    "param.UNUSUAL_AMOUNT.multiplier": ("fois la moyenne", "times the mean"),
    "param.UNUSUAL_AMOUNT.min_history": (
        "paiements réussis antérieurs requis",
        "earlier successful payments needed",
    ),
    "rule.FAST_CHECKOUT": ("⏱️ Checkout rapide (<30s)", "⏱️ Fast checkout (<30 s)"),
    "param.FAST_CHECKOUT.max_seconds": ("plus rapide que (secondes)", "faster than (seconds)"),
    "rule.GEO_MISMATCH": ("🌍 Pays différent du profil", "🌍 Country differs from profile"),
    "why.FIRST_PAYMENT": ("premier paiement du client", "first payment of this customer"),
    "why.NEW_CUSTOMER": (
        "compte créé il y a {account_age_days} jours",
        "account {account_age_days} days old",
    ),
    "why.UNUSUAL_HOUR": ("{local_time} heure locale ({tz})", "{local_time} local time ({tz})"),
    "why.MOBILE_DEVICE": ("appareil {device}", "device {device}"),
    "why.DIRECT_TRAFFIC": ("source {utm_source}", "source {utm_source}"),
    "why.PAYMENT_FAILED": ("tentative échouée", "attempt failed"),
    "why.VELOCITY_HIGH": (
        "{payments} paiements en {span_min} min",
        "{payments} payments in {span_min} min",
    ),
    "why.NEW_DEVICE": (
        "appareil {device_id} absent des {known_devices} connus",
        "device {device_id} not among {known_devices} known",
    ),
    "why.UNUSUAL_AMOUNT": (
        "{amount} € = {ratio}× la moyenne de {mean} €",
        "{amount} € = {ratio}× mean {mean} €",
    ),
    "why.FAST_CHECKOUT": (
        "{seconds} s entre le premier ajout au panier et le paiement",
        "{seconds} s from first add to cart to payment",
    ),
    "why.GEO_MISMATCH": (
        "payé depuis {payment_country}, profil {profile_country}",
        "paid from {payment_country}, profile {profile_country}",
    ),
    "rule.REPEAT_DECLINE": ("🔁 Refus répétés", "🔁 Repeated declines"),
    "param.REPEAT_DECLINE.min_failures": (
        "paiements échoués antérieurs au moins",
        "earlier failed payments at least",
    ),
    "param.REPEAT_DECLINE.window_days": ("sur (jours)", "within (days)"),
    "why.REPEAT_DECLINE": (
        "{earlier_failures} échecs antérieurs en {window_days} j, le dernier il y a "
        "{last_failure_h} h",
        "{earlier_failures} earlier failed payments in {window_days} d, last "
        "{last_failure_h} h ago",
    ),
}
