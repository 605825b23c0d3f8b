from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def users(request: HttpRequest) -> HttpResponse:
    listed = User.objects.select_related("sso_profile").order_by("pk")
    return render(request, "users.html", {"users": listed})
