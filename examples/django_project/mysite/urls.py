from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login", views.password_login, name="login"),
    path("users", views.users, name="users"),
    path("sso/", include("samljit.integrations.django.urls")),  # samljit
]
