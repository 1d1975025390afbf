from django.contrib.auth import views as auth_views
from django.urls import path

from portal import views, views_backups, views_contracts, views_hosting

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
    path("hebergement/", views_hosting.hosting_overview, name="hosting"),
    path("hebergement/services/<int:pk>/boites/", views_hosting.hosting_change_request, name="hosting_change_request"),
    path("sauvegardes/", views_backups.backups_overview, name="backups"),
    path("sauvegardes/appareils/<int:pk>/", views_backups.backup_device, name="backup_device"),
    path("sauvegardes/appareils/<int:pk>/restauration/", views_backups.backup_restore, name="backup_restore"),
]
