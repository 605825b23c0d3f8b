from django.contrib.auth import authenticate, login
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

ADMIN_ROLE = "account_administrator"


def can_administer(request: HttpRequest, account_id: str) -> bool:
    """The project's rule: an administrator of that account (a local or an SSO user)."""
    profile = getattr(request.user, "sso_profile", None)  # None: anonymous, or no account
    return profile is not None and profile.account_id == account_id and profile.role == ADMIN_ROLE


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"sso_admin": can_administer(request, "acme")})


def users(request: HttpRequest) -> HttpResponse:
    listed = User.objects.select_related("sso_profile").order_by("pk")
    return render(request, "users.html", {"users": listed})


@require_http_methods(["GET", "POST"])
def password_login(request: HttpRequest) -> HttpResponse:
    """The project's own password sign-in (Django's auth backend checks the hash)."""
    if request.method == "GET":
        return render(request, "login.html")
    user = authenticate(
        request,
        username=request.POST.get("username", ""),
        password=request.POST.get("password", ""),
    )
    if user is None:
        return render(request, "login.html", {"failed": True}, status=403)
    login(request, user)  # a new session key: no session fixation
    return redirect("/")
