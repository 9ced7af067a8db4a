"""Task URLs: one small form per task."""

from django.urls import path

from ledger import views

urlpatterns = [
    path("accounts/open/", views.open_account, name="open_account"),
    path("accounts/<uuid:account_id>/tasks/<slug:task>/", views.account_task, name="account_task"),
]
