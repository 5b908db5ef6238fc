from django.urls import path

from datashare.agreements import views

app_name = "agreements"
urlpatterns = [
    path("", views.agreement_list, name="list"),
    path("<uuid:public_id>/", views.detail, name="detail"),
]
