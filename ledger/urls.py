"""Task URLs: one small form per task."""

from django.urls import path

from ledger import approval_views, reversal_views, standing_order_views, views

urlpatterns = [
    path("approvals/<uuid:request_id>/<slug:decision>/", approval_views.decide_request, name="decide_request"),
    path("accounts/open/", views.open_account, name="open_account"),
    path("accounts/<uuid:account_id>/tasks/<slug:task>/", views.account_task, name="account_task"),
    path(
        "accounts/<uuid:account_id>/standing-orders/new/",
        standing_order_views.set_up_standing_order,
        name="set_up_standing_order",
    ),
    path(
        "accounts/<uuid:account_id>/standing-orders/<uuid:order_id>/cancel/",
        standing_order_views.cancel_standing_order,
        name="cancel_standing_order",
    ),
    path(
        "accounts/<uuid:account_id>/movements/<int:position>/reverse/",
        reversal_views.reverse_movement,
        name="reverse_movement",
    ),
]
