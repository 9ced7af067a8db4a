"""Screen URLs (read side)."""

from django.urls import path

from projections import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("accounts/", views.accounts, name="accounts"),
    path("accounts/<uuid:account_id>/", views.account, name="account"),
    path("accounts/<uuid:account_id>/as-of/", views.account_as_of, name="account_as_of"),
    path("accounts/<uuid:account_id>/transfer-targets/", views.account_options, name="account_options"),
    path("projections/", views.projection_status, name="projection_status"),
    path("projections/lag/", views.lag_badge, name="lag_badge"),
]
