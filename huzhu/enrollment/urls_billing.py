from django.urls import path

app_name = "billing"

urlpatterns: list = []  # invoices, payments and receipts: huzhu/enrollment/views_billing.py
