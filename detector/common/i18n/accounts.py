"""Sign-in, the account menu, the users page and the audit trail."""

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {
    "in.title": ("KiVendTout Fraud Desk : connexion", "KiVendTout Fraud Desk: sign in"),
    "in.username": ("Nom d'utilisateur", "User name"),
    "in.password": ("Mot de passe", "Password"),
    "in.submit": ("Se connecter", "Sign in"),
    "in.expired": (
        "Votre session a expiré : reconnectez-vous.",
        "Your session has expired: please sign in again.",
    ),
    "in.no_users": (
        "Aucun compte n'existe encore. Créez le premier administrateur dans un terminal :",
        "No account exists yet. Create the first admin in a terminal:",
    ),
    "in.refused": ("Accès refusé : {why}", "Access refused: {why}"),
    "me.signed_in": ("Connecté : {name} ({role})", "Signed in: {name} ({role})"),
    "me.sign_out": ("Se déconnecter", "Sign out"),
    "me.current": ("Mot de passe actuel", "Current password"),
    "me.new": ("Nouveau mot de passe", "New password"),
    "me.again": ("Nouveau mot de passe (encore)", "New password (again)"),
    "me.save": ("Enregistrer", "Save"),
    "me.mismatch": ("Les deux saisies diffèrent.", "The two entries differ."),
    "me.changed": ("Mot de passe changé.", "Password changed."),
    "us.caption": (
        "Les rôles : lecteur (analyses), analyste (décisions), responsable des règles "
        "(publication, données), administrateur (tout, dont les comptes).",
        "Roles: viewer (insights), analyst (decisions), rule owner (publishing, data), admin "
        "(everything, accounts included).",
    ),
    "us.create": ("Créer un compte", "Create an account"),
    "us.display_name": ("Nom affiché", "Display name"),
    "us.role": ("Rôle", "Role"),
    "us.initial_password": ("Mot de passe initial", "Initial password"),
    "us.created": ("Compte {name} créé.", "Account {name} created."),
    "us.edit": ("Modifier un compte", "Edit an account"),
    "us.user": ("Compte", "Account"),
    "us.active": ("Actif", "Active"),
    "us.apply": ("Appliquer", "Apply"),
    "us.updated": ("Compte {name} mis à jour.", "Account {name} updated."),
    "us.reset_btn": ("Réinitialiser le mot de passe", "Reset the password"),
    "us.reset_done": ("Mot de passe de {name} réinitialisé.", "Password of {name} reset."),
    "us.col.display_name": ("Nom", "Name"),
    "us.col.locked": ("Verrouillé", "Locked"),
    "us.col.last_login_at": ("Dernière connexion", "Last sign-in"),
    "us.col.created_at": ("Créé le", "Created"),
    "us.col.created_by": ("Créé par", "Created by"),
    "au.caption": (
        "Chaque décision, tentative perdue, publication, retour arrière, changement de "
        "compte, connexion et refus, dans l'ordre. Le journal ne peut être ni modifié ni "
        "effacé.",
        "Every decision, lost race, publication, rollback, account change, sign-in and "
        "refusal, in order. The trail can be neither changed nor erased.",
    ),
    "au.actor": ("Qui", "Who"),
    "au.action": ("Action", "Action"),
    "au.outcome": ("Résultat", "Outcome"),
    "au.target": ("Cible (exacte)", "Target (exact)"),
    "au.since": ("Depuis", "Since"),
    "au.until": ("Jusqu'au", "Until"),
    "au.any": ("(tous)", "(any)"),
    "au.count": ("{n} événements", "{n} events"),
    "au.newer": ("Plus récents", "Newer"),
    "au.older": ("Plus anciens", "Older"),
    "au.col.id": ("N°", "No."),
    "au.col.at": ("Quand (UTC)", "When (UTC)"),
    "au.col.target": ("Cible", "Target"),
    "in.ended": (
        "Votre session a pris fin (déconnexion, mot de passe, rôle ou compte modifié) : "
        "reconnectez-vous.",
        "Your session has ended (signed out, or the password, role or account changed): "
        "please sign in again.",
    ),
    "in.continue": ("Continuer", "Continue"),
    "nf.title": ("Page introuvable", "Page not found"),
    "nf.body": (
        "L'adresse {path} ne correspond à aucune page du KiVendTout Fraud Desk.",
        "The address {path} is not a page of the KiVendTout Fraud Desk.",
    ),
    "nf.home": ("Aller à l'accueil", "Go to the home page"),
    "us.tokens": ("Jetons d'API", "API tokens"),
    "us.token_label": ("Usage (ex. : checkout)", "What for (e.g. checkout)"),
    "us.token_days": ("Expire dans (jours, 0 : jamais)", "Expires in (days, 0: never)"),
    "us.token_create": ("Créer un jeton", "Create a token"),
    "us.token_once": (
        "Copiez ce jeton maintenant : il n'est affiché qu'une fois (seule son empreinte est "
        "conservée).",
        "Copy this token now: it is shown once (only its hash is kept).",
    ),
    "us.token_pick": ("Jeton", "Token"),
    "us.token_revoke": ("Révoquer", "Revoke"),
    "us.token_revoked": ("Jeton {id} de {name} révoqué.", "Token {id} of {name} revoked."),
    "us.tcol.id": ("N°", "Id"),
    "us.tcol.prefix": ("Début", "Starts with"),
    "us.tcol.label": ("Usage", "What for"),
    "us.tcol.expires_at": ("Expire le", "Expires"),
    "us.tcol.last_used_at": ("Dernier usage", "Last used"),
    "us.tcol.revoked_at": ("Révoqué le", "Revoked"),
}
