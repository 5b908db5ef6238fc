from django.urls import path

from datashare.intake.views import my_requests
from datashare.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("requests/", my_requests, name="my_requests"),
    path("staff/", views.staff_dashboard, name="staff_dashboard"),
    path("account/", views.account, name="account"),
]
