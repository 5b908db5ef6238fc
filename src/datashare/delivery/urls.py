from __future__ import annotations

from django.urls import path

from datashare.delivery import views

app_name = "delivery"
urlpatterns = [
    path("", views.my_delivery, name="mine"),
    path("<uuid:public_id>/keys/", views.add_key, name="add_key"),
    path("<uuid:public_id>/keys/<int:key_id>/remove/", views.remove_key, name="remove_key"),
    path("staff/", views.staff_log, name="staff_log"),
    path("staff/<uuid:public_id>/revoke/", views.revoke, name="revoke"),
    path("staff/<uuid:public_id>/unlock/", views.unlock, name="unlock"),
]
