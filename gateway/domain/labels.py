"""Every French label the gateway itself decides, in one table: enum name → code → label.

Frontends show these labels verbatim (`status` + `statusLabel`). Where the insurers' portals show a
word, the label is the portal's (a contract « Actif », a dossier « En cours » / « Clos », the
guarantee of a dossier or règlement « Incapacité » / « Invalidité » / « Décès », an affiliate
« Actif » / « Radié »); elsewhere it is the legacy document's own wording for the code. Labels
that come from a back-end (a contract's guarantee lines, demande types, document titles, décompte
lines) are not decided here: they pass through as the back-end gives them.

`values.Labelled` reads this table; a test checks that every member has exactly one label here.
"""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "AccountStatus": {  # CRM statutCompte, as the portal's « Codes d'accès » page says it
        "ACTIVE": "Actif",
        "PENDING_ACTIVATION": "En attente d'activation",
        "LOCKED": "Verrouillé",
        "NONE": "Pas de compte",
    },
    "SecondFactorMethod": {  # the CRM's MethodeSecondFacteur
        "NONE": "Pas de double authentification",
        "TOTP": "Application d'authentification",
        "EMAIL": "Code envoyé par e-mail",
        "SMS": "Code envoyé par SMS",
    },
    "StepUpMethod": {
        "EMAIL_CODE": "Code reçu par e-mail",
        "SMS_CODE": "Code reçu par SMS",
        "TOTP": "Code de l'application d'authentification",
        "RECOVERY_CODE": "Code de secours",
        "PASSKEY": "Clé d'accès",
    },
    "SignInMethod": {
        "PASSWORD": "Mot de passe",
        "PASSWORD_AND_SECOND_FACTOR": "Mot de passe et double authentification",
        "PASSKEY": "Clé d'accès",
    },
    "AlertEvent": {  # the CRM's EvenementAlerte, as « Paramètres > Notifications » says it
        "PAYMENT_MADE": "Règlement ou remboursement effectué",
        "DOCUMENT_AVAILABLE": "Nouveau document disponible",
        "DEMANDE_UPDATED": "Demande mise à jour",
        "NEW_DEVICE_SIGN_IN": "Connexion depuis un nouvel appareil",
        "ACCOUNT_SECURITY": "Sécurité du compte",
    },
    "AlertChannel": {
        "EMAIL": "E-mail",
        "SMS": "SMS",
        "PUSH": "Notification de l'application",
    },
    "ServiceCode": {  # policy admin CodeService, generic labels
        "TELECONSULTATION": "Téléconsultation médicale",
        "THIRD_PARTY_PAYMENT": "Carte de tiers payant",
        "CARE_NETWORK": "Réseau de soins partenaires",
        "QUOTE_ANALYSIS": "Analyse de devis",
        "MEDICAL_APPOINTMENT": "Prise de rendez-vous médical en ligne",
        "ASSISTANCE": "Assistance",
        "LETTER_LIBRARY": "Bibliothèque de lettres et d'infos",
        "PREVENTION": "Prévention et coaching santé",
    },
    "ServiceAudience": {  # policy admin BeneficiaireService
        "INSURED": "L'assuré",
        "ALL_BENEFICIARIES": "Tous les bénéficiaires du contrat",
        "COMPANY": "L'entreprise",
    },
    "CodeChannel": {
        "EMAIL": "Par e-mail",
        "SMS": "Par SMS",
    },
    "OneTimeCodePurpose": {
        "SIGN_IN": "Connexion",
        "SENSITIVE_ACT": "Confirmation d'une opération sensible",
    },
    "TerminationRule": {
        "INFRA_ANNUAL": "Résiliation infra-annuelle (loi Hamon) : un mois après la demande",
        "ANNUAL_TERM": "À l'échéance annuelle, avec un préavis de deux mois (loi Chatel)",
    },
    "PersonKind": {
        "INDIVIDUAL": "Particulier",
        "COMPANY": "Entreprise",
    },
    "ProductFamily": {
        "HEALTH": "Santé",
        "PROTECTION": "Prévoyance",
        "SAVINGS": "Épargne",
        "RETIREMENT": "Retraite",
        "PROPERTY_CASUALTY": "IARD",
    },
    "ContractStatus": {
        "ACTIVE": "Actif",  # portal
        "TERMINATED": "Résilié",
        "SUSPENDED": "Suspendu",
        "PENDING": "En cours d'émission",  # policy admin CD_STATUT E
    },
    "AffiliateStatus": {
        "ACTIVE": "Actif",  # portal
        "LEFT": "Radié",  # portal
        "SUSPENDED": "Suspendu",
        "PENDING": "En cours d'émission",  # policy admin CD_STATUT E
    },
    "ContractRole": {
        "SUBSCRIBER": "Souscripteur",
        "MEMBER": "Affilié",
        "INSURED": "Assuré",
        "DEPENDENT": "Ayant droit",
    },
    "NumberKind": {
        "CONTRACT": "Contrat",
        "MEMBERSHIP": "Adhésion",
    },
    "PremiumFrequency": {
        "MONTHLY": "Mensuelle",
        "QUARTERLY": "Trimestrielle",
        "HALF_YEARLY": "Semestrielle",
        "YEARLY": "Annuelle",
    },
    "Relationship": {
        "SPOUSE": "Conjoint",
        "CHILD": "Enfant",
        "OTHER": "Autre ayant droit",
    },
    "DossierStatus": {
        "OPEN": "En cours",  # portal
        "CLOSED": "Clos",  # portal
    },
    "Guarantee": {
        "INCAPACITY": "Incapacité",  # portal (« Garantie : Incapacité »)
        "INVALIDITY": "Invalidité",  # portal
        "DEATH": "Décès",  # portal
        "EDUCATION_ANNUITY": "Rente éducation",  # claims CodeGarantie RENTE_EDUC
    },
    "ReglementKind": {
        "BENEFIT": "Prestation prévoyance",
        "HEALTH_REIMBURSEMENT": "Remboursement santé",
    },
    "PaymentMethod": {
        "TRANSFER": "Virement",
        "CHEQUE": "Chèque",
    },
    "RecipientKind": {
        "COMPANY": "Entreprise",
        "AFFILIATE": "Affilié",
    },
    "PaidTo": {
        "INSURED": "Assuré",
        "PROVIDER": "Professionnel de santé",
    },
    "CareRecipient": {
        "INSURED": "Assuré",
        "SPOUSE": "Conjoint",
        "CHILD": "Enfant",
    },
    "DemandeStatus": {
        "RECEIVED": "Reçue",
        "IN_PROGRESS": "En cours de traitement",
        "DONE": "Traitée",
        "REJECTED": "Rejetée",
        "CLOSED": "Clôturée",
    },
    "DemandeCategory": {
        "HEALTH": "Santé",
        "PERSONAL_LIFE": "Vie personnelle",
        "CONTRACT": "Gérer mon contrat",
        "CONTACT": "Nous envoyer une demande",
        "COMPLAINT": "Réclamation",
    },
    "DocumentType": {
        "SITUATION_LETTER": "Lettre de situation",
        "ANNUAL_INFORMATION": "Lettre d'information annuelle",
        "BENEFIT_STATEMENT": "Décompte de règlement",
        "MEMBERSHIP_CERTIFICATE": "Attestation d'affiliation",
        "THIRD_PARTY_PAYMENT_CARD": "Carte tiers payant",
        "PREMIUM_NOTICE": "Avis d'échéance",
        "REPLY_LETTER": "Courrier de réponse",
    },
    "DocumentCategory": {
        "CONTRACT": "Documents contractuels",
        "BENEFIT": "Documents de prestations",
        "CORRESPONDENCE": "Courriers",
    },
    "DocumentPeriod": {
        "LAST_MONTH": "Le dernier mois",
        "LAST_3_MONTHS": "Les 3 derniers mois",
        "LAST_6_MONTHS": "Les 6 derniers mois",
        "LAST_12_MONTHS": "Les 12 derniers mois",
        "LAST_24_MONTHS": "Les 24 derniers mois",
    },
    "Civility": {
        "MR": "Monsieur",
        "MRS": "Madame",
    },
    "HealthScheme": {
        "GENERAL": "Régime général",
        "AGRICULTURAL": "Régime agricole (MSA)",
        "ALSACE_MOSELLE": "Régime local d'Alsace-Moselle",
        "SELF_EMPLOYED": "Sécurité sociale des indépendants",
        "OTHER": "Autre régime",
    },
}
