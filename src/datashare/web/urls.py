from django.urls import path

from datashare.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
]
