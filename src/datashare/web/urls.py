from django.urls import path

from datashare.intake.views import my_requests
from datashare.web import staff_admin, views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("requests/", my_requests, name="my_requests"),
    path("staff/", views.staff_dashboard, name="staff_dashboard"),
    path("account/", views.account, name="account"),
    path("staff/admin/users/", staff_admin.users, name="admin_users"),
    path("staff/admin/users/<uuid:public_id>/", staff_admin.user_detail, name="admin_user"),
    path("staff/admin/organizations/", staff_admin.organizations, name="admin_organizations"),
    path("staff/audit/", staff_admin.audit_log, name="audit_log"),
    path("staff/audit/export.csv", staff_admin.audit_log_csv, name="audit_log_csv"),
    path("staff/audit/verify", staff_admin.audit_verify, name="audit_verify"),
]
