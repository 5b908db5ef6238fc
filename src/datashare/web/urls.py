from django.urls import path
from django.views.generic import TemplateView

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
    path("staff/admin/jobs/", staff_admin.scheduled_jobs, name="admin_jobs"),
    path("staff/audit/", staff_admin.audit_log, name="audit_log"),
    path("staff/audit/export.csv", staff_admin.audit_log_csv, name="audit_log_csv"),
    path("staff/audit/verify", staff_admin.audit_verify, name="audit_verify"),
    # The public guidance the home page's first step points to (step 1 of the agency's process).
    path("faq/", TemplateView.as_view(template_name="web/faq.html"), name="faq"),
    path("agreement/", TemplateView.as_view(template_name="web/agreement_template.html"), name="agreement_template"),
    path("contact/", TemplateView.as_view(template_name="web/contact.html"), name="contact"),
]
