from django.contrib.auth import views as auth_views
from django.urls import path

from portal import views, views_backups, views_contracts, views_gdpr, views_hosting, views_invoices

app_name = "portal"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("connexion/", views.PortalLoginView.as_view(), name="login"),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("mot-de-passe/", views.password_reset, name="password_reset"),
    path("mot-de-passe/envoye/", views.password_reset_done, name="password_reset_done"),
    path("mot-de-passe/<uidb64>/<token>/", views.password_reset_confirm, name="password_reset_confirm"),
    path("mot-de-passe/termine/", views.password_reset_complete, name="password_reset_complete"),
    path("invitation/<uidb64>/<token>/", views.invitation_accept, name="invitation_accept"),
    path("utilisateurs/", views.users, name="users"),
    path("utilisateurs/<int:contact_id>/desactiver/", views.user_disable, name="user_disable"),
    path("utilisateurs/<int:contact_id>/reactiver/", views.user_enable, name="user_enable"),
    path("utilisateurs/<int:contact_id>/relancer/", views.user_reinvite, name="user_reinvite"),
    path("contrats/", views_contracts.contract_list, name="contracts"),
    path("contrats/<int:contract_id>/", views_contracts.contract_detail, name="contract_detail"),
    path(
        "contrats/<int:contract_id>/documents/<int:document_id>/",
        views_contracts.contract_document,
        name="contract_document",
    ),
    path("equipements/", views_contracts.equipment_list, name="equipment"),
    path("factures/", views_invoices.invoice_list, name="invoices"),
    path("factures/<int:invoice_id>/", views_invoices.invoice_detail, name="invoice_detail"),
    path("factures/<int:invoice_id>/pdf/", views_invoices.invoice_pdf, name="invoice_pdf"),
    path("releve-de-compte/", views_invoices.statement, name="statement"),
    path("devis/", views_invoices.quote_list, name="quotes"),
    path("devis/<int:quote_id>/", views_invoices.quote_detail, name="quote_detail"),
    path("devis/<int:quote_id>/pdf/", views_invoices.quote_pdf, name="quote_pdf"),
    path("devis/<int:quote_id>/signer/", views_invoices.quote_sign, name="quote_sign"),
    path("devis/<int:quote_id>/exemplaire-signe/", views_invoices.quote_signed_copy, name="quote_signed_copy"),
    path("hebergement/", views_hosting.hosting_overview, name="hosting"),
    path("hebergement/services/<int:pk>/boites/", views_hosting.hosting_change_request, name="hosting_change_request"),
    path("sauvegardes/", views_backups.backups_overview, name="backups"),
    path("sauvegardes/appareils/<int:pk>/", views_backups.backup_device, name="backup_device"),
    path("sauvegardes/appareils/<int:pk>/restauration/", views_backups.backup_restore, name="backup_restore"),
    path("donnees-personnelles/", views_gdpr.gdpr_overview, name="gdpr"),
    path("donnees-personnelles/registre.<str:fmt>", views_gdpr.gdpr_register_download, name="gdpr_register"),
    path("donnees-personnelles/demandes/", views_gdpr.gdpr_request_list, name="gdpr_requests"),
    path("donnees-personnelles/demandes/nouvelle/", views_gdpr.gdpr_request_create, name="gdpr_request_create"),
    path("donnees-personnelles/demandes/<int:request_id>/", views_gdpr.gdpr_request_detail, name="gdpr_request_detail"),
]
