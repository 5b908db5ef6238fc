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
    path("staff/extracts/", views.staff_jobs, name="staff_jobs"),
    path("staff/extracts/<uuid:public_id>/", views.staff_job, name="staff_job"),
    path("staff/extracts/<uuid:public_id>/release/", views.release_job, name="release_job"),
    path("staff/extracts/<uuid:public_id>/reject/", views.reject_job, name="reject_job"),
    path("staff/extracts/<uuid:public_id>/recut/", views.recut_job, name="recut_job"),
    path("staff/extracts/<uuid:public_id>/retry/", views.retry_job, name="retry_job"),
]
