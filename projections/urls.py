"""Screen URLs (read side)."""

from django.urls import path

from projections import approval_views, export_views, receipt_views, recipient_views, standing_order_views, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("accounts/", views.accounts, name="accounts"),
    path("accounts/<uuid:account_id>/", views.account, name="account"),
    path("accounts/<uuid:account_id>/statement.csv", export_views.statement_csv, name="statement_csv"),
    path("accounts/<uuid:account_id>/statement.pdf", export_views.statement_pdf, name="statement_pdf"),
    path("accounts/<uuid:account_id>/as-of/", views.account_as_of, name="account_as_of"),
    path("accounts/<uuid:account_id>/transfer-targets/", views.account_options, name="account_options"),
    path(
        "accounts/<uuid:account_id>/standing-orders/",
        standing_order_views.account_standing_orders,
        name="standing_orders",
    ),
    path(
        "accounts/<uuid:account_id>/standing-orders/<uuid:order_id>/",
        standing_order_views.standing_order,
        name="standing_order",
    ),
    path("receipts/<uuid:command_id>/", receipt_views.receipt, name="receipt"),
    path("accounts/<uuid:account_id>/recipient/", recipient_views.recipient, name="recipient"),
    path("approvals/", approval_views.approvals, name="approvals"),
    path("approvals/<uuid:request_id>/", approval_views.approval, name="approval"),
    path("projections/", views.projection_status, name="projection_status"),
    path("projections/lag/", views.lag_badge, name="lag_badge"),
]
