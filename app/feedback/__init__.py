"""Reader feedback ("Disagree with our pick?"): validate, store, then deliver by mail.

``store`` owns every SQL statement, ``outbox`` the background delivery, ``mail`` the message
and its transports, ``tokens`` the signed form tokens, ``ratelimit`` the per-client limit,
``form`` the validation, and ``service`` ties them together for the web route and the CLI.
Nothing here imports from ``app.web``.
"""
