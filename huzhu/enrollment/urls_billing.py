from django.urls import path

from . import views_billing as views

app_name = "billing"

urlpatterns = [
    path("invoices/", views.invoice_list, name="invoice_list"),
    path("statements/", views.statements, name="statements"),
    path("statements/<int:pk>/", views.statement, name="statement"),
    path("units/<int:unit_id>/", views.unit_invoices, name="unit_invoices"),
    path("units/<int:unit_id>/invoices/new/", views.invoice_create_view, name="invoice_create"),
    path("invoices/<int:invoice_id>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<int:invoice_id>/payments/", views.payment_create, name="payment_create"),
    path("receipts/<int:payment_id>.pdf", views.receipt_download, name="receipt_pdf"),
    path("receipts/verify/<str:token>/", views.receipt_verify_view, name="receipt_verify"),
]
