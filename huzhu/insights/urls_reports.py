from django.urls import path

from . import views_reports as v

urlpatterns = [
    path("", v.report_index, name="report_index"),
    path("annual/<int:org_id>/", v.annual, name="report_annual"),
    path("annual/<int:org_id>/pdf/", v.annual_pdf, name="report_annual_pdf"),
    path("units/<int:unit_id>/", v.bulletin, name="report_bulletin"),
    path("units/<int:unit_id>/pdf/", v.bulletin_pdf, name="report_bulletin_pdf"),
    path("units/<int:unit_id>/xlsx/", v.bulletin_download_xlsx, name="report_bulletin_xlsx"),
    path("disclosures/", v.disclosure_list, name="disclosure_list"),
    path("disclosures/propose/", v.disclosure_propose_view, name="disclosure_propose"),
    path("disclosures/<int:pk>/", v.disclosure_detail, name="disclosure_detail"),
    path("disclosures/<int:pk>/publish/", v.disclosure_publish_view, name="disclosure_publish"),
    path("disclosures/<int:pk>/withdraw/", v.disclosure_withdraw_view,
         name="disclosure_withdraw"),
    # 公示: public, no login_required (docs/adr/0019)
    path("public/", v.public_list, name="public_list"),
    path("public/<int:pk>/", v.public_detail, name="public_detail"),
    path("public/<int:pk>/pdf/", v.public_pdf, name="public_pdf"),
]
