from django.urls import path

from . import views, views_risk

app_name = "ledger"

urlpatterns = [
    path("", views.ledger_index, name="index"),
    path("risk-sharing/", views_risk.risk_sharing, name="risk_sharing"),
    path("<int:org_id>/statement/", views.statement, name="statement"),
    path("<int:org_id>/statement.xlsx", views.statement_export, name="statement_export"),
    path("<int:org_id>/trial-balance/", views.trial_balance_page, name="trial_balance"),
    path("<int:org_id>/trial-balance.xlsx", views.trial_balance_export,
         name="trial_balance_export"),
    path("accounts/<int:pk>/", views.account_detail, name="account_detail"),
    path("transactions/<int:pk>/", views.transaction_detail, name="transaction_detail"),
]
