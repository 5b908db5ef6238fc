from django.urls import path

from datashare.retention import views

app_name = "retention"
urlpatterns = [
    path("disclosures/", views.disclosure_record, name="disclosures"),
    path("disclosures.csv", views.disclosure_record_csv, name="disclosures_csv"),
    path("register/", views.public_register, name="register"),
    path("reports/", views.reports_page, name="reports"),
    path("destruction/", views.destructions, name="destructions"),
    path("destruction/<uuid:public_id>/", views.destruction, name="destruction"),
    path("destruction/<uuid:public_id>/certify/", views.certify, name="certify"),
    path("destruction/<uuid:public_id>/verify/", views.verify, name="verify"),
]
