
app_name = "ledger"

urlpatterns: list = []  # the ledger's pages are added by huzhu/ledger/views.py
