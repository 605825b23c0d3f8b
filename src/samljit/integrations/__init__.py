"""Framework adapters: :mod:`samljit.integrations.flask`, :mod:`samljit.integrations.fastapi`
(any Starlette app) and :mod:`samljit.integrations.django`.

Each is an optional extra (``pip install samljit[flask]``, ``[fastapi]``, ``[django]``) that
the core never imports. Every adapter mounts the same endpoints under a prefix (``/sso`` by
default), for each account ``{account}``:

========================  =====  =============================================================
path                      verb   what
========================  =====  =============================================================
``/sso/``                 GET    the SSO page: a form asking for the email address
``/sso/``                 POST   home-realm discovery: redirect to that email's IdP
``/sso/{account}/login``  GET    SP-initiated login at the account's IdP (``?next=/path``)
``/sso/{account}/acs``    POST   the Assertion Consumer Service (CSRF-exempt: signed instead)
``/sso/{account}/metadata`` GET  the SP metadata to give the IdP; also the SP's entity ID
``/sso/{account}/slo``    both   Single Logout (CSRF-exempt: signed instead)
``/sso/logout``           POST   end the app session, then log out at the IdP (needs the
                                 session's logout token, see ``SamlSso.logout_form``)
========================  =====  =============================================================

:mod:`samljit.integrations.sessions` gives Flask and Starlette apps server-side sessions (the
cookie holds an opaque ID only) that logout, Single Logout and expiry end for good.
"""
