from django.urls import path

from datashare.retention import views

app_name = "retention"
urlpatterns = [
    path("disclosures/", views.disclosure_record, name="disclosures"),
    path("disclosures.csv", views.disclosure_record_csv, name="disclosures_csv"),
]
